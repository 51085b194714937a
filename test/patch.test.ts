/**
 * The webhook's JSON patch (admission/patch.ts) is fast-json-patch's `compare` without its deep
 * copy of each added value: for arbitrary pairs of documents, independent or sharing sub-objects
 * as an injected copy shares the user's, it must give exactly the JSON `compare` gives, and that
 * patch must turn the one into the other. Also: copyJson, the core's copy of config values.
 */
import fc from 'fast-check';
import {applyPatch, compare, deepClone, type Operation} from 'fast-json-patch';
import {diffPatch} from '../functions/admission/patch';
import {copyJson} from '../functions/core/json';

const SEED = 20261201;
const RUNS = 500;

/** Keys that stress JSON pointers (`/`, `~`) and prototypes. */
const key = fc.oneof(fc.string({maxLength: 4}), fc.constantFrom('/', '~', '~1', '~0', 'a/b~c', '__proto__', 'constructor', 'toJSON', '', '0', '1'));
const {tree} = fc.letrec<{tree: unknown; node: unknown}>(tie => ({
  tree: fc.oneof({depthSize: 'small', withCrossShrink: true}, fc.constantFrom(null, true, false, 0, -1, 1.5, '', 'x'), fc.string({maxLength: 3}), tie('node')),
  node: fc.oneof(fc.array(tie('tree'), {maxLength: 4}), fc.dictionary(key, tie('tree'), {maxKeys: 4})),
}));
const document = fc.dictionary(key, tree, {maxKeys: 5});

/**
 * A second version of `a` as the core makes one: per key, the same sub-object (shared, as the
 * user's untouched containers are), a value from `b`, both blended one level down, or nothing;
 * plus `b`'s keys that `a` lacks, sometimes. Choices come from `coins`.
 */
function blend(a: unknown, b: unknown, coins: () => number): unknown {
  const both = typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b);
  if (!both) return coins() % 3 === 0 || b === undefined ? a : b;
  if (Array.isArray(a)) {
    const out = (a as unknown[]).slice(0, Math.max(0, a.length - (coins() % 2)));
    return [...out.map((v, i) => (coins() % 2 === 0 ? v : blend(v, (b as unknown[])[i], coins))), ...(b as unknown[]).slice(out.length, out.length + (coins() % 3))];
  }
  const out: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => Object.defineProperty(out, k, {value: v, enumerable: true, writable: true, configurable: true});
  for (const [k, v] of Object.entries(a)) {
    const coin = coins() % 4;
    if (coin === 0) set(k, v);
    else if (coin === 1 && Object.hasOwn(b, k)) set(k, (b as Record<string, unknown>)[k]);
    else if (coin === 2) set(k, blend(v, Object.hasOwn(b, k) ? (b as Record<string, unknown>)[k] : undefined, coins));
  }
  for (const [k, v] of Object.entries(b)) if (!Object.hasOwn(out, k) && !Object.hasOwn(a, k) && coins() % 2 === 0) set(k, v);
  return out;
}

/** A small deterministic coin source for blend(). */
const coinsFrom = (seed: number) => {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
};

function expectSameAsFastJsonPatch(before: object, after: object): void {
  const ours = diffPatch(before, after);
  // Wrapped so that a top-level `metadata` (whose managedFields diffPatch leaves out) can't differ.
  expect(JSON.stringify(diffPatch({v: before}, {v: after}))).toBe(JSON.stringify(compare({v: before}, {v: after})));
  // fast-json-patch's applyPatch assigns, which for a `__proto__` key sets a prototype: it can't
  // apply those faithfully (the comparison above covers them).
  if (JSON.stringify([before, after]).includes('"__proto__"')) return;
  // Key order aside: an `add` appends its key.
  expect(applyPatch(deepClone(before), deepClone(ours) as Operation[], true, false, false).newDocument).toEqual(after);
}

describe('the JSON patch', () => {
  it('is what fast-json-patch compare() gives for independent documents, and applies', () => {
    fc.assert(
      fc.property(document, document, (a, b) => expectSameAsFastJsonPatch(a, b)),
      {seed: SEED, numRuns: RUNS},
    );
  });

  it('is what fast-json-patch compare() gives for a document and a copy that shares parts of it, and applies', () => {
    fc.assert(
      fc.property(document, document, fc.integer(), (a, b, seed) => expectSameAsFastJsonPatch(a, blend(a, b, coinsFrom(seed)) as object)),
      {seed: SEED, numRuns: RUNS},
    );
  });

  it('holds the injected values themselves, which the answer serializes once', () => {
    const sidecar = {name: 'cmd-nsc', env: [{name: 'NSM_NAME', value: 'x'}]};
    const pod = {metadata: {name: 'p'}, spec: {containers: [{name: 'app'}]}};
    const injected = {...pod, spec: {containers: [...pod.spec.containers, sidecar]}};
    expect(diffPatch(pod, injected)).toEqual([{op: 'add', path: '/spec/containers/1', value: sidecar}]);
    expect((diffPatch(pod, injected)[0] as {value: unknown}).value).toBe(sidecar);
  });

  it('leaves metadata.managedFields out', () => {
    const managedFields = [{manager: 'kubectl', operation: 'Update'}];
    const before = {metadata: {name: 'p', managedFields}};
    expect(diffPatch(before, {metadata: {name: 'p', managedFields: [], labels: {a: 'b'}}})).toEqual([{op: 'add', path: '/metadata/labels', value: {a: 'b'}}]);
  });
});

describe('copyJson', () => {
  it('copies JSON data deeply, key order and all, sharing nothing', () => {
    fc.assert(
      fc.property(document, value => {
        const copy = copyJson(value);
        expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
        const shared: unknown[] = [];
        const walk = (a: unknown, b: unknown): void => {
          if (typeof a !== 'object' || a === null) return;
          if (a === b) shared.push(a);
          for (const k of Object.keys(a)) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
        };
        walk(value, copy);
        expect(shared).toEqual([]);
      }),
      {seed: SEED, numRuns: RUNS},
    );
  });

  it('keeps a `__proto__` key as a key: the copy gets no new prototype', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": [1, {"__proto__": null}]}') as Record<string, unknown>;
    const copy = copyJson(value);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
