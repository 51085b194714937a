/**
 * The audit CloudEvent for one decision, as plain data (the cloudevents SDK is only loaded when a
 * sink is configured: see cloudevents.ts). Built from the decision summary, so it never carries
 * the object itself. Documented in docs/events.md; change both together, and bump the type's
 * version on any incompatible change.
 */
import type {InjectedNames, RequestSource, SkipReason} from '../core/decision';
import type {DecisionRecord} from '../http/handler';
import {summarize} from './decision-summary';

export const DECISION_EVENT_TYPE = 'io.networkservicemesh.sidecar-injector.decision.v1';

/** Fields that don't apply to a decision are left out of the JSON (undefined here). */
export interface DecisionEventData {
  readonly uid: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly kind: {readonly group: string; readonly version: string | undefined; readonly kind: string};
  readonly operation: string;
  readonly outcome: 'injected' | 'skipped' | 'error';
  readonly reason: SkipReason | undefined;
  readonly requestedBy: RequestSource | undefined;
  readonly injected: InjectedNames | undefined;
  readonly warnings: readonly string[];
  readonly configHash: string;
  /** Always false: dry-run requests send no event (the webhook declares sideEffects: NoneOnDryRun). */
  readonly dryRun: false;
  readonly durationSeconds: number;
  readonly namespaceLookup: 'ok' | 'failed' | undefined;
}

export interface DecisionEvent {
  /** The AdmissionReview request uid: a re-invoked review repeats it, so consumers can deduplicate. */
  readonly id: string;
  readonly source: string;
  readonly type: typeof DECISION_EVENT_TYPE;
  /** `namespace/name` (name: the generateName prefix when the apiserver has not named it yet). */
  readonly subject: string | undefined;
  readonly time: string;
  readonly data: DecisionEventData;
}

/** The event for a decision, or undefined for a dry-run request, which must have no side effects. */
export function decisionEvent(record: DecisionRecord, source: string, time: Date): DecisionEvent | undefined {
  const s = summarize(record);
  if (s.dryRun) return undefined;
  const subject = [s.namespace, s.name].filter((part): part is string => part !== undefined && part !== '').join('/');
  return {
    id: s.uid,
    source,
    type: DECISION_EVENT_TYPE,
    subject: subject === '' ? undefined : subject,
    time: time.toISOString(),
    data: {
      uid: s.uid,
      namespace: s.namespace,
      name: s.name,
      kind: s.kind,
      operation: s.operation,
      outcome: s.outcome,
      reason: s.reason,
      requestedBy: s.requestedBy,
      injected: s.injected,
      warnings: s.warnings,
      configHash: s.configHash,
      dryRun: false,
      durationSeconds: s.durationSeconds,
      namespaceLookup: s.namespaceLookup,
    },
  };
}
