/** The scrape arithmetic the apiserver benchmarks (scripts/bench/*.cjs) read their figures with. */
import {changesBy, parseSamples, sumOfChanges} from './support/prom-text';

const before = parseSamples(['calls_total{code="200",name="a"} 5', 'calls_total{code="200",name="b"} 1', 'calls_total{code="500",name="a"} 0'].join('\n'));
const after = parseSamples(
  ['calls_total{code="200",name="a"} 9', 'calls_total{code="200",name="b"} 4', 'calls_total{code="500",name="a"} 2', 'calls_total{code="401",name="a"} 1', 'other{name="a"} 7'].join('\n'),
);

test('sumOfChanges sums after - before over the matching series of one metric (new series from 0)', () => {
  expect(sumOfChanges(before, after, 'calls_total', {name: 'a'})).toBe(4 + 2 + 1);
  expect(sumOfChanges(before, after, 'calls_total')).toBe(4 + 3 + 2 + 1);
  expect(sumOfChanges(before, after, 'other', {name: 'b'})).toBe(0);
});

test('changesBy groups the changes by one label and leaves unchanged series out', () => {
  expect(changesBy(before, after, 'calls_total', {name: 'a'}, 'code')).toEqual({'200': 4, '500': 2, '401': 1});
  expect(changesBy(after, after, 'calls_total', {}, 'code')).toEqual({});
});
