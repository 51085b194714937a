/**
 * One supported Node.js range, said the same way everywhere: package.json `engines` (what npm checks),
 * the lockfile's copy of it, .node-version (what scripts/setup-node.sh installs and CI runs), the
 * Dockerfile's NODE_IMAGE, @types/node and the README. And the range is honest: every locked
 * package accepts the lowest release of each supported line and the pinned one, so `npm ci` prints
 * no EBADENGINE warning on them (npm tests `semver.satisfies(node, engines.node)` per package).
 */
import {readFileSync} from 'node:fs';
import semver from 'semver';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {engines: {node: string}; devDependencies: Record<string, string>};
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {packages: Record<string, {engines?: {node?: string} | string[]}>};
const engines = pkg.engines.node;
const pinned = readFileSync('.node-version', 'utf8').trim().replace(/^v/, '');
/** The lowest release of each line the range admits, e.g. 22.13.0 and 24.0.0. */
const floors = new semver.Range(engines).set.map(comparators => semver.minVersion(comparators.map(c => c.value).join(' '))?.version ?? '');

describe('the supported Node.js range', () => {
  it('is a range of whole LTS lines with a floor in each, and the pinned release is in it', () => {
    expect(floors.length).toBeGreaterThan(0);
    for (const floor of floors) expect(semver.major(floor) % 2).toBe(0);
    expect(semver.valid(pinned)).toBe(pinned);
    expect(semver.satisfies(pinned, engines)).toBe(true);
  });

  it('the Dockerfile runs the pinned release', () => {
    const image = /^ARG NODE_IMAGE=node:(\S+?)-/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    expect(image).toBe(pinned);
  });

  it("the lockfile carries the same engines, and @types/node is the lowest line's", () => {
    expect((lock.packages[''] as {engines: {node: string}}).engines.node).toBe(engines);
    expect(semver.minVersion(pkg.devDependencies['@types/node'] ?? '')?.major).toBe(semver.major(floors[0] ?? ''));
  });

  it('every locked package accepts each floor and the pinned release (no EBADENGINE on npm ci)', () => {
    const refusals = Object.entries(lock.packages).flatMap(([path, entry]) => {
      // Old packages wrote engines as an array of strings; npm ignores that form.
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (range === undefined || path === '') return [];
      return [...floors, pinned].filter(v => !semver.satisfies(v, range)).map(v => `${path.replace(/^node_modules\//, '')} (${range}) refuses ${v}`);
    });
    expect(refusals).toEqual([]);
  });

  it('the README says the same range', () => {
    expect(readFileSync('README.md', 'utf8')).toContain(`\`${engines}\``);
  });
});
