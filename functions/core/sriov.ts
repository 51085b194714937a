/**
 * SR-IOV resource pools named in NS URLs: `kernel://my-vf/nsm-1?sriovToken=worker.domain/100G`.
 * As NSM does, each URL counts once, for the first pool it names; the injected init containers
 * request that many of each pool's extended resource.
 */

export interface SriovRequest {
  /** Extended resource name -> how many. */
  readonly pools: ReadonlyMap<string, number>;
  readonly warnings: readonly string[];
}

// An extended resource name: a domain prefix outside kubernetes.io, a slash, a name.
const EXTENDED_RESOURCE = /^(?!(?:[^/]*\.)?kubernetes\.io\/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function sriovPools(networkServices: string, label: string): SriovRequest {
  const pools = new Map<string, number>();
  const warnings: string[] = [];
  if (label === '') return {pools, warnings};
  for (const part of networkServices.split(',')) {
    let url: URL;
    try {
      url = new URL(part.trim());
    } catch {
      continue; // not a URL (NSM itself will complain about it); nothing to count
    }
    const pool = url.searchParams.get(label);
    if (pool === null || pool === '') continue;
    if (pool.length > 253 || !EXTENDED_RESOURCE.test(pool)) {
      warnings.push(`${label}=${JSON.stringify(pool.slice(0, 80))} is not an extended resource name (domain/name); ignored`);
      continue;
    }
    pools.set(pool, (pools.get(pool) ?? 0) + 1);
  }
  return {pools, warnings};
}
