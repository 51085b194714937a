/** Reading Prometheus text exposition in tests: samples by series, and differences between scrapes. */

/** `name{a="x",b="y"}` (labels sorted) -> value. */
export type Samples = Map<string, number>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function seriesKey(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}="${v}"`);
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
}

export function parseSamples(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', v = ''] of labelText.matchAll(LABEL)) labels[key] = v;
    samples.set(seriesKey(name, labels), Number(value));
  }
  return samples;
}

/** after - before, for every series whose value changed (a series new in `after` counts from 0). */
export function changes(before: Samples, after: Samples): Record<string, number> {
  const moved: Record<string, number> = {};
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0) moved[key] = delta;
  }
  for (const [key, value] of before) if (!after.has(key) && value !== 0) moved[key] = -value;
  return moved;
}

/** The entries whose series key starts with `prefix` (a metric name, or a name and its labels). */
export function pick(moved: Record<string, number>, prefix: string): Record<string, number> {
  return Object.fromEntries(Object.entries(moved).filter(([key]) => key.startsWith(prefix)));
}

/** Whether `series` (a key of Samples) is of `metric` and its labels include every `want` pair. */
function isSeriesOf(series: string, metric: string, want: Readonly<Record<string, string>>): boolean {
  return series.startsWith(`${metric}{`) && Object.entries(want).every(([k, v]) => series.includes(`${k}="${v}"`));
}

/** The sum of after - before over the series of `metric` whose labels include every `want` pair. */
export function sumOfChanges(before: Samples, after: Samples, metric: string, want: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const [series, value] of after) if (isSeriesOf(series, metric, want)) total += value - (before.get(series) ?? 0);
  return total;
}

/** after - before of those series, summed by the value of one of their labels (e.g. code); unchanged ones left out. */
export function changesBy(before: Samples, after: Samples, metric: string, want: Readonly<Record<string, string>>, label: string): Record<string, number> {
  const by: Record<string, number> = {};
  for (const [series, value] of after) {
    if (!isSeriesOf(series, metric, want)) continue;
    const key = new RegExp(`${label}="([^"]*)"`).exec(series)?.[1] ?? '';
    const change = value - (before.get(series) ?? 0);
    if (change !== 0) by[key] = (by[key] ?? 0) + change;
  }
  return by;
}
