/** Name helpers: Kubernetes names stay unique, valid DNS labels, and deterministic. */

const MAX_LABEL = 63;

/** `wanted`, or `wanted-2`, `wanted-3`, ... (cut to fit 63 characters): the first not in `taken`. */
export function uniqueName(wanted: string, taken: ReadonlySet<string>): string {
  if (!taken.has(wanted)) return wanted;
  // `taken` is finite, so this ends after at most taken.size + 1 tries.
  for (let i = 2; ; i++) {
    const suffix = `-${i}`;
    const candidate = wanted.slice(0, MAX_LABEL - suffix.length).replace(/-+$/, '') + suffix;
    if (!taken.has(candidate)) return candidate;
  }
}

/** The repository part of an image reference: registry and path, without tag or digest. */
export function imageRepository(image: string): string {
  const noDigest = image.split('@', 1)[0] ?? image;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? noDigest : noDigest.slice(0, colon);
}

/**
 * A short, stable suffix derived from a seed (the admission request uid, or in the CLI the object's
 * identity), so that one input always gives one output. FNV-1a, 32 bits, as 8 hex digits: enough to
 * tell pods apart in NSM's logs; it is not a security boundary.
 */
export function stableSuffix(seed: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    hash ^= seed.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
