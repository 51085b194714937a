/**
 * nsm-inject on real NSM manifests (test/testdata/nsm-examples/, sources in its README.md): a diff of
 * the output shows only what was injected. No line of the user's changes, except in a flow
 * collection (`[...]`, `{...}`) that receives something. The README's table of figures is computed
 * here (REFRESH_GOLDEN=1 rewrites it). The outputs are nsm-inject's own; test/golden.test.ts holds
 * them as golden files and checks them against the webhook.
 */
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {collectNamespaces, injectManifests} from '../functions/cli/documents';
import {changedLines, flowLines} from './support/changed-lines';
import {defaultConfig} from './support/fixtures';

const DIR = join(__dirname, 'testdata', 'nsm-examples');
const README = join(DIR, 'README.md');
const cases = readdirSync(DIR)
  .filter(f => (f.endsWith('.yaml') || f.endsWith('.json')) && !f.endsWith('.config.yaml'))
  .sort();

interface Figures {
  readonly name: string;
  readonly lines: number;
  readonly injected: boolean;
  readonly changed: number[];
  readonly outsideFlow: number[];
}

function figuresOf(name: string): Figures {
  const input = readFileSync(join(DIR, name), 'utf8');
  const output = injectManifests(input, defaultConfig(), name, {byName: collectNamespaces([input]), fallback: undefined}).text;
  const changed = changedLines(input, output);
  const flow = flowLines(input);
  return {name, lines: input.split('\n').length - 1, injected: output !== input, changed, outsideFlow: changed.filter(l => !flow.has(l))};
}

const all = cases.map(figuresOf);

describe('the measure itself', () => {
  it('counts a re-indented line and a modified line as changed, and inserted lines as nothing', () => {
    expect(changedLines('a:\n  - b\n  - c\nd: 1\n', 'a:\n    - b\n  - c\n  - x\nd: 2\n')).toEqual([2, 4]);
    expect(changedLines('a\nb\n', 'a\nnew\nb\nnew\n')).toEqual([]);
  });

  it('knows which lines flow collections span', () => {
    expect([...flowLines('a: [1,\n  2]\nb: 3\nc: {d: 4}\n')].sort()).toEqual([1, 2, 4]);
  });
});

describe.each(all)('$name', f => {
  it('no user line outside a flow collection changes', () => {
    expect(f.outsideFlow).toEqual([]);
  });
});

it('every injectable example was injected (the figures are not about unchanged files)', () => {
  expect(all.filter(f => !f.injected).map(f => f.name)).toEqual(['annotated-namespace-client.yaml', 'scale-from-zero-pod-template.yaml']);
});

it("README.md's table holds these figures", () => {
  const total = (pick: (f: Figures) => number): number => all.reduce((sum, f) => sum + pick(f), 0);
  const rows = all.map(f => `| \`${f.name}\` | ${f.injected ? 'injected' : 'unchanged'} | ${f.lines} | ${f.changed.length} | ${f.outsideFlow.length} |`);
  const table = [
    '| file | result | user lines | changed | changed outside flow collections |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows,
    `| all ${all.length} | | ${total(f => f.lines)} | ${total(f => f.changed.length)} | ${total(f => f.outsideFlow.length)} |`,
  ].join('\n');
  const readme = readFileSync(README, 'utf8');
  const section = /(<!-- figures: [^\n]*-->\n)[\s\S]*?(<!-- \/figures -->)/;
  const expected = readme.replace(section, `$1${table}\n$2`);
  if (process.env['REFRESH_GOLDEN'] === '1') writeFileSync(README, expected);
  expect(readFileSync(README, 'utf8')).toBe(expected);
});
