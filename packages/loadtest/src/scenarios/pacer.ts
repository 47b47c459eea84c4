/**
 * The open-loop pacer of the message scenarios (chat, cross, soak, group): message k of a worker
 * is due at startUs + k / rate and goes to local sender k mod n; a late timer tick sends every
 * message that fell due meanwhile, each stamped with its own intended time, so latency counts
 * from the schedule, never from when the driver got round to it (no coordinated omission).
 */
import { nowUs } from '../clock';

/** What the pacer drives. */
export interface PacerSpec {
  startUs: number;
  measureStart: number;
  measureEnd: number;
  /** This worker's share of the rate, messages/s. */
  rate: number;
  /** Local senders. */
  senders: number;
  /** False once the load phase ended. */
  running(): boolean;
  /** True when --max-messages is reached. */
  full(): boolean;
  /** Sends one message of local sender `i`, intended at `intendedUs`. */
  send(i: number, intendedUs: number): void;
}

/** A running pacer. */
export interface Pacer {
  /** Largest lag of the pacer behind its schedule inside the measured window, µs. */
  readonly maxLagUs: number;
}

/** Starts pacing; it stops by itself when `running()` turns false or the window ends. */
export function paceOpenLoop(p: PacerSpec): Pacer {
  const state = { maxLagUs: 0 };
  if (p.senders === 0 || p.rate <= 0) return state;
  const perUs = p.rate / 1e6;
  let k = 0;
  const tick = (): void => {
    if (!p.running()) return;
    const now = nowUs();
    const lag = now - (p.startUs + k / perUs);
    if (lag > state.maxLagUs && now >= p.measureStart) state.maxLagUs = lag;
    for (;;) {
      const intended = p.startUs + k / perUs;
      if (intended > now || intended >= p.measureEnd || p.full()) break;
      p.send(k % p.senders, intended);
      k++;
    }
    setTimeout(tick, 1);
  };
  tick();
  return state;
}
