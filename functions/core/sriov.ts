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

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Kubernetes' own rule (IsExtendedResourceName): a `domain/name` that is not native (nothing under
 * kubernetes.io/), does not start with `requests.`, and stays a qualified name once quota
 * prefixes it with `requests.`. Anything else the apiserver would refuse, failing the pod.
 */
export function isExtendedResourceName(name: string): boolean {
  if (name.includes('kubernetes.io/') || name.startsWith('requests.')) return false;
  const slash = name.indexOf('/');
  if (slash === -1 || name.indexOf('/', slash + 1) !== -1) return false;
  const prefix = `requests.${name.slice(0, slash)}`;
  const local = name.slice(slash + 1);
  return prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && local.length <= 63 && NAME.test(local);
}

export function sriovPools(networkServices: string, label: string, allowed?: readonly string[]): SriovRequest {
  const pools = new Map<string, number>();
  const warnings: string[] = [];
  if (label === '') return {pools, warnings};
  for (const part of networkServices.split(',')) {
    // Without a `?` a URL has no query, so no pool: skip parsing it (most requests name none).
    if (!part.includes('?')) continue;
    let url: URL;
    try {
      url = new URL(part.trim());
    } catch {
      continue; // not a URL (NSM itself will complain about it); nothing to count
    }
    // `sriovToken=<pool>[,<pool>...]`: the annotation is itself a comma list, so several pools in
    // one URL arrive percent-encoded (%2C) or as repeated labels; either way the first one counts.
    const pool = url.searchParams.get(label)?.split(',')[0]?.trim();
    if (pool === undefined || pool === '') continue;
    if (!isExtendedResourceName(pool)) {
      // The value itself stays out of the warning (it is logged and audited; it is pod input).
      warnings.push(`a ${label} value is not an extended resource name (domain/name outside kubernetes.io); ignored`);
      continue;
    }
    if (allowed !== undefined && !allowed.includes(pool)) {
      warnings.push(`a ${label} value names a pool the injector's config does not allow (sriovAllowedPools); ignored`);
      continue;
    }
    pools.set(pool, (pools.get(pool) ?? 0) + 1);
  }
  return {pools, warnings};
}
