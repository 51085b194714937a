/** Small statistics helpers shared by the benchmark phases. */

export function median(values) {
  const s = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The p-th percentile of ascending-sorted values. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** [bucket, count] pairs of 10 µs buckets, from ascending-sorted latencies in ms (mergeable with mergeHist). */
export function histogram(sorted) {
  const pairs = [];
  for (const ms of sorted) {
    const bucket = Math.floor(ms * 100);
    const last = pairs[pairs.length - 1];
    if (last !== undefined && last[0] === bucket) last[1]++;
    else pairs.push([bucket, 1]);
  }
  return pairs;
}

/** Merges [bucket, count] histograms (10 µs buckets, see load.mjs). */
export function mergeHist(hists) {
  const counts = new Map();
  for (const h of hists) for (const [bucket, count] of h) counts.set(bucket, (counts.get(bucket) ?? 0) + count);
  return [...counts].sort((a, b) => a[0] - b[0]);
}

/** The p-th percentile (ms) of a merged histogram: the upper edge of the bucket it falls in. */
export function histPercentile(hist, p) {
  const total = hist.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const [bucket, count] of hist) {
    seen += count;
    if (seen >= rank) return (bucket + 1) / 100;
  }
  return (hist[hist.length - 1][0] + 1) / 100;
}

export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN);
