/**
 * HDR latency histograms (hdr-histogram-js) in microseconds: one shape for every recorder, so
 * histograms from different workers can be encoded, sent over IPC, decoded and added.
 */
import * as hdr from 'hdr-histogram-js';

/** Lowest value told apart from 0: 1 µs. */
export const HIST_LOWEST_US = 1;
/** Highest value tracked: 1 hour. Larger values are clamped (and counted in `clamped`). */
export const HIST_HIGHEST_US = 3_600_000_000;
/** Significant decimal digits kept: 3 (0.1 % resolution). */
export const HIST_DIGITS = 3;

/** A latency histogram in µs. */
export type Histogram = hdr.Histogram;

/** A new, empty histogram of the common shape. */
export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: HIST_LOWEST_US,
    highestTrackableValue: HIST_HIGHEST_US,
    numberOfSignificantValueDigits: HIST_DIGITS,
    autoResize: false,
    useWebAssembly: false,
  });
}

/** Records a latency in µs, clamped to [1 µs, 1 h] (a clock step must not crash a run). */
export function recordUs(h: Histogram, us: number): void {
  h.recordValue(us < HIST_LOWEST_US ? HIST_LOWEST_US : us > HIST_HIGHEST_US ? HIST_HIGHEST_US : Math.round(us));
}

/** Compressed base64 form, for IPC and for the JSON result. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Inverse of {@link encodeHistogram}. */
export function decodeHistogram(text: string): Histogram {
  return hdr.decodeFromCompressedBase64(text, 32, false);
}

/** Adds encoded (or live) histograms into one new histogram. */
export function mergeHistograms(parts: ReadonlyArray<Histogram | string>): Histogram {
  const out = newHistogram();
  for (const p of parts) {
    const h = typeof p === 'string' ? decodeHistogram(p) : p;
    if (h.totalCount > 0) out.add(h);
  }
  return out;
}

/** Percentiles in milliseconds. All null when nothing was recorded. */
export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
  meanMs: number | null;
}

const ms = (us: number): number => Math.round(us) / 1000;

/** p50, p90, p99, p99.9, max and mean of a histogram, in ms. */
export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50Ms: null, p90Ms: null, p99Ms: null, p999Ms: null, maxMs: null, meanMs: null };
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: Math.round(h.mean) / 1000,
  };
}
