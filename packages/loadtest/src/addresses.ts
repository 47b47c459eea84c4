/**
 * Loopback-only addressing: which server addresses the tool may send to, and the rotation of
 * local source addresses (127.0.0.x) that keeps tens of thousands of sockets clear of ephemeral
 * port exhaustion (each source address has its own ~28k ports per destination).
 */
import * as net from 'node:net';

/** Most source addresses one range may expand to. */
export const MAX_SOURCE_ADDRS = 256;

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and "localhost". */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === 'localhost') return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return net.isIPv4(v4) && v4.split('.')[0] === '127';
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Parses a source-address list: comma-separated IPv4 addresses and inclusive ranges, e.g.
 * "127.0.0.2-127.0.0.20" or "127.0.0.2-20,127.0.1.1". Every address must be loopback. Throws an
 * Error naming the bad part.
 */
export function parseSourceAddrs(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const [from, toText] = raw.split('-', 2).map((s) => s.trim()) as [string, string | undefined];
    if (!net.isIPv4(from)) throw new Error(`source address "${from}" is not an IPv4 address`);
    let to = from;
    if (toText !== undefined) {
      // "127.0.0.2-20" abbreviates the last octet.
      to = /^\d{1,3}$/.test(toText) ? from.split('.').slice(0, 3).concat(toText).join('.') : toText;
      if (!net.isIPv4(to)) throw new Error(`source address range "${raw}": "${toText}" is not an IPv4 address or last octet`);
    }
    const a = ipv4ToInt(from);
    const b = ipv4ToInt(to);
    if (b < a) throw new Error(`source address range "${raw}" runs backwards`);
    if (b - a + 1 + out.length > MAX_SOURCE_ADDRS) throw new Error(`source addresses: more than ${MAX_SOURCE_ADDRS} in total`);
    for (let n = a; n <= b; n++) {
      const ip = intToIpv4(n);
      if (!isLoopback(ip)) throw new Error(`source address ${ip} is not loopback (127.0.0.0/8): the tool only runs on this machine`);
      out.push(ip);
    }
  }
  if (out.length === 0) throw new Error('source addresses: give at least one, e.g. 127.0.0.2-127.0.0.20');
  return [...new Set(out)];
}

/**
 * The source address of connection number `k` (a run-wide index): round-robin over `addrs`, so
 * consecutive connections, and every worker's share, spread evenly. Undefined when `addrs` is
 * empty (let the kernel choose).
 */
export function sourceAddressFor(addrs: readonly string[], k: number): string | undefined {
  return addrs.length === 0 ? undefined : addrs[k % addrs.length];
}
