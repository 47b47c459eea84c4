/**
 * Reading the HTTP admin port in tests: /healthz as JSON, /metrics as Prometheus text.
 */

/** GET a path of the admin port; resolves with the status and the body text. */
export async function adminGet(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/**
 * The value of one sample in Prometheus text, e.g. metric(text, 'hxim_errors_total', 'code="BAD_BODY"');
 * NaN when absent.
 */
export function metric(text: string, name: string, labels = ''): number {
  const key = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(key));
  return line ? Number(line.slice(key.length)) : NaN;
}
