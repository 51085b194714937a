/** Small statistics helpers shared by the benchmark phases. */

export function median(values) {
  const s = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
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
