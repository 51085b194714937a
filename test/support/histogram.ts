/**
 * Quantiles from a Prometheus histogram's cumulative buckets, for benches that read the apiserver's own
 * metrics (scripts/bench/cluster-scale.cjs): the buckets of the series that match some labels, summed
 * (the other labels aggregated away), as a difference between two scrapes, and the quantile as
 * PromQL's histogram_quantile estimates it, with the bucket bounds that hold the true value.
 */
import type {Samples} from './prom-text';

/** One cumulative bucket: `count` observations were <= `le` seconds (the last one has le = +Inf). */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

export interface Quantile {
  /** Linear interpolation inside the bucket holding the rank (histogram_quantile's estimate). */
  readonly estimate: number;
  /** The true quantile is in (lower, upper]: what the buckets actually prove. upper is Infinity past the last finite bound. */
  readonly lower: number;
  readonly upper: number;
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(series: string): Record<string, string> {
  const open = series.indexOf('{');
  const labels: Record<string, string> = {};
  if (open === -1) return labels;
  for (const [, key = '', value = ''] of series.slice(open + 1, -1).matchAll(LABEL)) labels[key] = value;
  return labels;
}

/** The buckets of `metric` (without `_bucket`) summed over every series whose labels include all of `want`, sorted by le. */
export function bucketsOf(samples: Samples, metric: string, want: Readonly<Record<string, string>> = {}): Bucket[] {
  const byLe = new Map<number, number>();
  for (const [series, value] of samples) {
    if (!series.startsWith(`${metric}_bucket{`)) continue;
    const labels = labelsOf(series);
    if (!Object.entries(want).every(([k, v]) => labels[k] === v) || labels['le'] === undefined) continue;
    const le = labels['le'] === '+Inf' ? Infinity : Number(labels['le']);
    byLe.set(le, (byLe.get(le) ?? 0) + value);
  }
  return [...byLe].map(([le, count]) => ({le, count})).sort((a, b) => a.le - b.le);
}

/** after - before, bucket by bucket (a bucket missing before counts from 0): the observations in between. */
export function bucketDelta(before: readonly Bucket[], after: readonly Bucket[]): Bucket[] {
  return after.map(b => ({le: b.le, count: b.count - (before.find(x => x.le === b.le)?.count ?? 0)}));
}

/** The q-quantile (0 < q < 1) of cumulative buckets, or undefined when they hold no observation. */
export function quantile(q: number, buckets: readonly Bucket[]): Quantile | undefined {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile ${q} is not in (0, 1)`);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      // Past the last finite bound nothing is known but the bound itself (histogram_quantile returns it).
      const estimate = b.le === Infinity ? lower : lower + ((b.le - lower) * (rank - below)) / (b.count - below);
      return {estimate, lower, upper: b.le};
    }
    lower = b.le;
    below = b.count;
  }
  return undefined; // unreachable: the last bucket holds every observation
}

/** The share of observations <= le seconds, exactly when le is one of the bucket bounds (else undefined). */
export function shareAtMost(le: number, buckets: readonly Bucket[]): number | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  const bucket = buckets.find(b => b.le === le);
  return bucket === undefined || total <= 0 ? undefined : bucket.count / total;
}
