/**
 * The JSON patch (RFC 6902) from an object to its injected copy, computed by a diff of the two
 * rather than written op by op, so that absent arrays and maps, and `/` or `~` in keys, are handled
 * by construction.
 *
 * The diff is fast-json-patch's `compare` (v3.1.1, `_generate` in its duplex.js), operation for
 * operation: the same replace/remove/add operations in the same order, the same `~0`/`~1` escaping.
 * One difference: fast-json-patch deep-copies every value it puts in a patch (a JSON round trip
 * per added container, volume or label map), and the answer serializes the patch right after, so
 * here the values are the injected object's own (docs/benchmarks.md measured the copy as the
 * largest single cost of a review). test/patch.test.ts checks that the two give the same JSON for
 * arbitrary pairs of documents, and the golden and property tests apply every patch with
 * fast-json-patch's applyPatch.
 */
import type {Operation} from 'fast-json-patch';
import {isObject, own} from '../core/json';

/** managedFields never change and can be large: leave them out of the diff (and the patch). */
function withoutManagedFields(obj: unknown): unknown {
  if (!isObject(obj)) return obj;
  const metadata = own(obj, 'metadata');
  if (!isObject(metadata) || !('managedFields' in metadata)) return obj;
  const {managedFields: _ignored, ...rest} = metadata;
  return {...obj, metadata: rest};
}

type Json = Record<string, unknown> | unknown[];

/** RFC 6901: `~` is `~0`, `/` is `~1` in a pointer token. */
function escapeToken(key: string): string {
  if (!key.includes('/') && !key.includes('~')) return key;
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** An array's indexes as keys, as fast-json-patch walks it (a plain loop: this runs for every list walked). */
function keysOf(value: Json): string[] {
  if (!Array.isArray(value)) return Object.keys(value);
  const keys = new Array<string>(value.length);
  for (let i = 0; i < keys.length; i++) keys[i] = String(i);
  return keys;
}
const hasOwn = (value: Json, key: string): boolean => Object.prototype.hasOwnProperty.call(value, key);
const at = (value: Json, key: string): unknown => (value as Record<string, unknown>)[key];
const isContainer = (value: unknown): value is Json => typeof value === 'object' && value !== null;
/** What a JSON round trip makes of a value (fast-json-patch copies that way): `undefined` is `null`. */
const asJson = (value: unknown): unknown => (value === undefined ? null : value);

/** The operations for `key` of `before`; true when it was removed (then `after`'s keys are walked for additions). */
function diffKey(before: Json, after: Json, key: string, patch: Operation[], path: string): boolean {
  const oldValue = at(before, key);
  if (hasOwn(after, key) && !(at(after, key) === undefined && oldValue !== undefined && !Array.isArray(after))) {
    const newValue = at(after, key);
    // What the injected copy shares with the original (the user's containers, env, ...): nothing to
    // walk, and no path to build for it.
    if (oldValue === newValue) return false;
    if (isContainer(oldValue) && isContainer(newValue) && Array.isArray(oldValue) === Array.isArray(newValue)) {
      generate(oldValue, newValue, patch, `${path}/${escapeToken(key)}`);
    } else if (oldValue !== newValue) {
      patch.push({op: 'replace', path: `${path}/${escapeToken(key)}`, value: asJson(newValue)});
    }
    return false;
  }
  if (Array.isArray(before) === Array.isArray(after)) {
    patch.push({op: 'remove', path: `${path}/${escapeToken(key)}`});
    return true;
  }
  patch.push({op: 'replace', path, value: after});
  return false;
}

function generate(before: Json, after: Json, patch: Operation[], path: string): void {
  const afterKeys = keysOf(after);
  const beforeKeys = keysOf(before);
  let removed = false;
  // Backwards, as fast-json-patch: removals from an array then keep the earlier indexes valid.
  for (let i = beforeKeys.length - 1; i >= 0; i--) {
    if (diffKey(before, after, beforeKeys[i] as string, patch, path)) removed = true;
  }
  if (!removed && afterKeys.length === beforeKeys.length) return;
  for (const key of afterKeys) {
    const value = at(after, key);
    if (!hasOwn(before, key) && value !== undefined) patch.push({op: 'add', path: `${path}/${escapeToken(key)}`, value});
  }
}

/** The patch that turns `original` into `injected` (both JSON objects or arrays). */
export function diffPatch(original: unknown, injected: unknown): Operation[] {
  const before = withoutManagedFields(original);
  const after = withoutManagedFields(injected);
  const patch: Operation[] = [];
  if (isContainer(before) && isContainer(after) && before !== after) generate(before, after, patch, '');
  return patch;
}
