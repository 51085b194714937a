/**
 * What may leave the process about one decision: the review's identity (uid, namespace, name,
 * kind, operation, dry-run) and what was decided. This is the only place that reads the review
 * for logs and audit events, and it never copies the object: pods carry secrets in their env.
 */
import type {InjectedNames, RequestSource, SkipReason} from '../core/decision';
import type {AdmissionReviewRequest} from '../admission/review';
import type {DecisionRecord, NamespaceLookupResult} from '../admission/decision-record';

export interface DecisionSummary {
  readonly uid: string;
  readonly namespace: string | undefined;
  /** The object's name; for a create with only `metadata.generateName`, that prefix. */
  readonly name: string | undefined;
  readonly kind: {readonly group: string; readonly version: string | undefined; readonly kind: string};
  readonly operation: string;
  readonly dryRun: boolean;
  readonly outcome: DecisionRecord['decision']['outcome'];
  readonly reason: SkipReason | undefined;
  readonly requestedBy: RequestSource | undefined;
  readonly injected: InjectedNames | undefined;
  readonly warnings: readonly string[];
  readonly configHash: string;
  readonly durationSeconds: number;
  readonly namespaceLookup: NamespaceLookupResult | undefined;
}

function nameOf(review: AdmissionReviewRequest): string | undefined {
  if (review.request.name) return review.request.name;
  const object = review.request.object;
  if (typeof object !== 'object' || object === null) return undefined;
  const metadata = (object as {metadata?: {name?: unknown; generateName?: unknown}}).metadata;
  if (typeof metadata?.name === 'string' && metadata.name !== '') return metadata.name;
  return typeof metadata?.generateName === 'string' ? metadata.generateName : undefined;
}

export function summarize(record: DecisionRecord): DecisionSummary {
  const {request} = record.review;
  const {decision} = record;
  return {
    uid: request.uid,
    namespace: request.namespace,
    name: nameOf(record.review),
    // Copied field by field: the review's kind is caller input and could carry anything else.
    kind: {group: request.kind.group, version: request.kind.version, kind: request.kind.kind},
    operation: request.operation,
    dryRun: request.dryRun === true,
    outcome: decision.outcome,
    reason: decision.outcome === 'skipped' ? decision.reason : undefined,
    requestedBy: decision.outcome === 'injected' || decision.outcome === 'deferred' ? decision.requestedBy : undefined,
    injected:
      decision.outcome === 'injected'
        ? {initContainers: [...decision.injected.initContainers], containers: [...decision.injected.containers], volumes: [...decision.injected.volumes]}
        : undefined,
    warnings: record.warnings,
    configHash: record.configHash,
    durationSeconds: record.durationSeconds,
    namespaceLookup: record.namespaceLookup,
  };
}
