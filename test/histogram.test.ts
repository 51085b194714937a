import {bucketDelta, bucketsOf, quantile, shareAtMost} from './support/histogram';
import {parseSamples} from './support/prom-text';

// The apiserver's webhook admission histogram (its buckets: 5 ms, 25 ms, 100 ms, 500 ms, 1 s, 2.5 s, 10 s, 25 s).
const METRIC = 'apiserver_admission_webhook_admission_duration_seconds';
const scrape = (counts: number[], name = 'ours', rejected = 'false'): string =>
  ['0.005', '0.025', '0.1', '0.5', '1', '2.5', '10', '25', '+Inf']
    .map((le, i) => `${METRIC}_bucket{le="${le}",name="${name}",operation="CREATE",rejected="${rejected}",type="admit"} ${counts[Math.min(i, counts.length - 1)]}`)
    .join('\n');

describe('histogram quantiles', () => {
  it('sums the series that match the labels, per bound, and leaves the others out', () => {
    const samples = parseSamples([scrape([10, 20, 30]), scrape([1, 2, 3], 'ours', 'true'), scrape([100, 200, 300], 'theirs')].join('\n'));
    const buckets = bucketsOf(samples, METRIC, {name: 'ours'});
    expect(buckets.map(b => b.le)).toEqual([0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 25, Infinity]);
    expect(buckets.map(b => b.count)).toEqual([11, 22, 33, 33, 33, 33, 33, 33, 33]);
    expect(bucketsOf(samples, METRIC, {name: 'nobody'})).toEqual([]);
  });

  it('takes the difference between two scrapes bucket by bucket', () => {
    const before = bucketsOf(parseSamples(scrape([5, 8, 9])), METRIC);
    const after = bucketsOf(parseSamples(scrape([105, 200, 209])), METRIC);
    expect(bucketDelta(before, after).map(b => b.count)).toEqual([100, 192, 200, 200, 200, 200, 200, 200, 200]);
    expect(bucketDelta([], after).map(b => b.count)).toEqual(after.map(b => b.count));
  });

  it('interpolates inside the bucket that holds the rank, as histogram_quantile does', () => {
    // 1000 observations: 900 <= 5 ms, 990 <= 25 ms, all <= 100 ms.
    const buckets = bucketsOf(parseSamples(scrape([900, 990, 1000])), METRIC);
    // p50: rank 500 in (0, 5 ms] holding 900 -> 5 ms * 500/900.
    expect(quantile(0.5, buckets)?.estimate).toBeCloseTo((0.005 * 500) / 900, 12);
    // p99: rank 990 is exactly the 25 ms bucket's count: its upper bound.
    expect(quantile(0.99, buckets)).toEqual({estimate: 0.025, lower: 0.005, upper: 0.025});
    // p99.5: rank 995 in (25 ms, 100 ms] holding 10 -> halfway.
    const p995 = quantile(0.995, buckets);
    expect(p995?.estimate).toBeCloseTo(0.0625, 12);
    expect([p995?.lower, p995?.upper]).toEqual([0.025, 0.1]);
  });

  it('answers the last finite bound when the rank is past it, with an unbounded upper', () => {
    const buckets = [{le: 0.005, count: 1}, {le: 0.025, count: 2}, {le: Infinity, count: 100}];
    expect(quantile(0.99, buckets)).toEqual({estimate: 0.025, lower: 0.025, upper: Infinity});
  });

  it('has no quantile without observations, and refuses a q outside (0, 1)', () => {
    expect(quantile(0.99, [])).toBeUndefined();
    expect(quantile(0.99, bucketsOf(parseSamples(scrape([0])), METRIC))).toBeUndefined();
    expect(() => quantile(1, [{le: Infinity, count: 1}])).toThrow(RangeError);
  });

  it('gives the share at or under a bound only for a bound the buckets have', () => {
    const buckets = bucketsOf(parseSamples(scrape([900, 990, 1000])), METRIC);
    expect(shareAtMost(0.025, buckets)).toBe(0.99);
    expect(shareAtMost(0.02, buckets)).toBeUndefined();
    expect(shareAtMost(0.025, [])).toBeUndefined();
  });
});
