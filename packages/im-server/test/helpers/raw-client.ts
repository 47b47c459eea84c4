/**
 * A minimal test client speaking raw frames over real TCP: it sends exactly what a test says
 * (seed frames, malformed bytes) and records every frame received.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  decodeBody, encodeFrame, FrameDecoder, MessageType,
  type MessageByType, type MessageTypeCode,
} from '@hxim/im-common';
import { testCa, testTls } from './tls';

/** A received frame, decoded. */
export interface Got<K extends MessageTypeCode = MessageTypeCode> {
  type: K;
  msg: MessageByType[K];
}

/** A raw test connection. */
export class RawClient {
  readonly frames: Got[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 16 * 1024 * 1024 });
  private waiters: Array<() => void> = [];
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.decoder.push(chunk, (f) => {
        this.frames.push({ type: f.typeCode as MessageTypeCode, msg: decodeBody(f.typeCode as MessageTypeCode, f.body) } as Got);
      });
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) => socket.on('close', () => { this.closed = true; this.wake(); resolve(); }));
  }

  /** Connects to 127.0.0.1:port; with TLS (trusting the test CA) when HXIM_TEST_TLS=1 or `opts.tls`. */
  static connect(port: number, host = '127.0.0.1', opts: { tls?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s: net.Socket = opts.tls ?? testTls()
        ? tls.connect({ port, host, ca: testCa(), servername: 'localhost' }, () => resolve(new RawClient(s)))
        : net.connect({ port, host }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Sends one encoded message. */
  send<K extends MessageTypeCode>(type: K, msg: Partial<MessageByType[K]>): void {
    this.socket.write(encodeFrame(type, msg));
  }

  /** Sends raw bytes. */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Waits for the first received frame (from index `from`) matching; rejects after `ms`. */
  async next<K extends MessageTypeCode>(type: K, pred: (m: MessageByType[K]) => boolean = () => true, ms = 5000): Promise<MessageByType[K]> {
    const deadline = Date.now() + ms;
    let seen = 0;
    for (;;) {
      for (; seen < this.frames.length; seen++) {
        const f = this.frames[seen]!;
        if (f.type === type && pred(f.msg as MessageByType[K])) {
          this.frames.splice(seen, 1);
          return f.msg as MessageByType[K];
        }
      }
      if (this.closed) throw new Error(`connection closed while waiting for type ${type}; got ${JSON.stringify(this.types())}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for type ${type}; got ${JSON.stringify(this.types())}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Waits until the server closes the connection; rejects after `ms`. */
  async waitClosed(ms = 5000): Promise<void> {
    await Promise.race([this.closedPromise, new Promise((_, rej) => setTimeout(() => rej(new Error('not closed in time')), ms).unref())]);
  }

  /** Type codes of the frames not yet consumed. */
  types(): number[] {
    return this.frames.map((f) => f.type);
  }

  /** Seed-style login (OnlineMessage ONLINE with a bare user id). */
  seedLogin(userId: number): void {
    this.send(MessageType.ONLINE, { id: 'test-online', userId, timeStamp: Date.now() });
  }

  /** Closes the socket. */
  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
