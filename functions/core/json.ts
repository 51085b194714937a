/** Small guards for JSON that came from outside: the core trusts no shape it did not check. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isStringMap(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every(v => typeof v === 'string');
}

/** Own property lookup: never walks the prototype (`__proto__`, `constructor` are plain keys here). */
export function own(obj: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/**
 * A deep copy of JSON data (objects, arrays, scalars): what we add to a pod must not share objects
 * with the config it came from. A plain recursive copy, several times faster than structuredClone
 * for these small values, and plain assignment rather than defineProperty for every key but
 * `__proto__` (where assignment would set the prototype): it runs for every value each review
 * injects (docs/benchmarks.md).
 */
export function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    const copy = copyJson((value as JsonObject)[key]);
    if (key === '__proto__') Object.defineProperty(out, key, {value: copy, enumerable: true, writable: true, configurable: true});
    else out[key] = copy;
  }
  return out as T;
}

/** One JSON-pointer token back to the key it names (RFC 6901: `~1` is `/`, `~0` is `~`). */
export function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}
