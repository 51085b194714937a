/**
 * The audit CloudEvent for one decision, as plain data (the cloudevents SDK is only loaded when a
 * sink is configured: see cloudevents.ts). Built from the decision summary, so it never carries
 * the object itself. Documented in docs/events.md; change both together, and bump the type's
 * version on any incompatible change.
 */
import type {DecisionRecord} from '../admission/decision-record';
import {summarize, type DecisionSummary} from './decision-summary';

export const DECISION_EVENT_TYPE = 'io.networkservicemesh.sidecar-injector.decision.v1';

/**
 * The decision summary (fields that don't apply are left out of the JSON), as an event carries it:
 * dry-run requests send no event, so `dryRun` is always false.
 */
export type DecisionEventData = Omit<DecisionSummary, 'dryRun'> & {readonly dryRun: false};

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
    // The summary is already what may leave the process (decision-summary.ts); all of it goes.
    data: {...s, dryRun: false},
  };
}
