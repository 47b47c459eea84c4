/**
 * login-storm: N logins as fast as --concurrency allows; logins/s and login latency (TCP connect
 * to LoginAck). In password mode the users are registered first (not timed), the storm logs in
 * with the password (scrypt on the server), and a second storm re-logs everyone in with the
 * session token, the path reconnects take.
 */
import { nowUs, runPool, sleepUntilUs } from '../clock';
import { encodeHistogram, newHistogram, recordUs } from '../hist';
import { countError, errorsRecord, type TickCounters, type WorkerSide } from '../ipc';
import { sliceOf, type LoadOptions } from '../options';
import { LoadError, RawConn } from '../raw-conn';
import { sourceAddressFor } from '../addresses';
import { connectUser, makeUser, type TestUser } from '../users';

/** One storm's figures from one worker. */
export interface StormWorkerResult {
  ok: number;
  failed: number;
  /** From the common start to this worker's last login, µs. */
  elapsedUs: number;
  hist: string;
  errors: Record<string, number>;
}

/** The worker side of login-storm. */
export class StormWorker implements WorkerSide {
  readonly calls: WorkerSide['calls'];
  private readonly users: TestUser[] = [];
  private readonly conns: Array<RawConn | null> = [];
  private readonly errors = new Map<string, number>();
  private readonly start: number;
  private live = newHistogram();
  private logins = 0;
  private open = 0;

  constructor(private readonly opts: LoadOptions, worker: number, workers: number) {
    const s = sliceOf(opts.connections, workers, worker);
    this.start = s.start;
    for (let i = s.start; i < s.end; i++) this.users.push(makeUser(opts, i));
    this.calls = {
      provision: () => this.provision(),
      storm: (arg) => this.storm((arg as { startUs: number; token: boolean }).startUs, (arg as { token: boolean }).token),
      close: async () => { for (const c of this.conns) c?.destroy(); return null; },
    };
  }

  tick(): TickCounters {
    return {
      atUs: nowUs(),
      connections: this.open, sent: 0, acked: 0, delivered: 0, logins: this.logins,
      errors: errorsRecord(this.errors), hist: encodeHistogram(this.live),
    };
  }

  /** Password mode: registers every user of this worker (not timed). */
  private async provision(): Promise<number> {
    if (this.opts.auth !== 'password') return 0;
    let failed = 0;
    await runPool(this.users.length, this.opts.concurrency, async (i) => {
      const u = this.users[i]!;
      const conn = await RawConn.open({ server: this.serverOf(i), localAddress: sourceAddressFor(this.opts.sourceAddrs, u.index), tls: this.opts.tls });
      try {
        u.userId = (await conn.register(u.userName, this.opts.password)).userId;
        u.registered = true;
      } catch (err) {
        if (err instanceof LoadError && err.code === 'USER_EXISTS') u.registered = true;
        else { failed++; countError(this.errors, err instanceof LoadError ? err.code : 'REGISTER_FAILED'); }
      } finally {
        conn.destroy();
      }
    });
    if (failed > 0) throw new Error(`${failed} users could not be registered (errors: ${JSON.stringify(errorsRecord(this.errors))})`);
    return this.users.length;
  }

  /** Logs every user in (closing its previous connection first); `token`: by session token. */
  private async storm(startUs: number, token: boolean): Promise<StormWorkerResult> {
    const hist = newHistogram();
    this.live = newHistogram();
    let ok = 0;
    let failed = 0;
    let lastUs = startUs;
    await sleepUntilUs(startUs);
    await runPool(this.users.length, this.opts.concurrency, async (i) => {
      const old = this.conns[i];
      if (old) { this.conns[i] = null; this.open--; old.destroy(); }
      const t0 = nowUs();
      let mine: RawConn | null = null;
      try {
        const { conn } = await connectUser(this.opts, this.users[i]!, {
          server: this.serverOf(i), connIndex: this.start + i, forcePassword: !token,
          handlers: { onClose: () => { if (mine && this.conns[i] === mine) { this.conns[i] = null; this.open--; } } },
        });
        mine = conn;
        const t1 = nowUs();
        recordUs(hist, t1 - t0);
        recordUs(this.live, t1 - t0);
        lastUs = Math.max(lastUs, t1);
        this.conns[i] = conn;
        this.open++;
        this.logins++;
        ok++;
      } catch (err) {
        failed++;
        countError(this.errors, err instanceof LoadError ? err.code : 'LOGIN_FAILED');
      }
    });
    return { ok, failed, elapsedUs: lastUs - startUs, hist: encodeHistogram(hist), errors: errorsRecord(this.errors) };
  }

  private serverOf(i: number) {
    return this.opts.servers[(this.start + i) % this.opts.servers.length]!;
  }
}
