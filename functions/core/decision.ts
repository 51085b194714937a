/**
 * What the injector decided about one object, and why. The reasons are a closed set so that they
 * can label metrics and logs without unbounded cardinality.
 */

export const SKIP_REASONS = [
  /** No (non-empty) trigger annotation on the object. */
  'not-requested',
  /** The object already carries our status annotation or our containers. */
  'already-injected',
  /** A ReplicaSet controlled by a Deployment: mutating its template would orphan it. */
  'owned-by-deployment',
  /** A kind whose pod template we don't handle. */
  'unsupported-kind',
  /** Only CREATE is mutated. */
  'not-create',
  /** The object is not shaped like a Kubernetes object of its kind (see the warning). */
  'invalid-object',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Names of what one injection added, after any renames that avoided collisions. */
export interface InjectedNames {
  initContainers: string[];
  containers: string[];
  volumes: string[];
}

/** Where the request for injection came from. */
export const REQUEST_SOURCES = ['pod', 'template', 'workload', 'namespace'] as const;
export type RequestSource = (typeof REQUEST_SOURCES)[number];

/**
 * The requests a workload can carry, when its injection is left to its pods (`workloads: pods`):
 * `template`, the workload is left as written; `workload`, the request was copied from the
 * workload's metadata into its pod template.
 */
export const DEFERRED_SOURCES = ['template', 'workload'] as const satisfies readonly RequestSource[];
export type DeferredSource = (typeof DEFERRED_SOURCES)[number];

export type Decision =
  | {outcome: 'injected'; injected: InjectedNames; requestedBy: RequestSource}
  | {outcome: 'deferred'; requestedBy: DeferredSource}
  | {outcome: 'skipped'; reason: SkipReason};

export const skipped = (reason: SkipReason): Decision => ({outcome: 'skipped', reason});
