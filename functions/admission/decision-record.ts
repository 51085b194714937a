/**
 * One decision as everything after it sees it: the decision log line, metrics and the audit event.
 * It sits beside the review it describes, so that ops/ and http/ both depend on it rather than on
 * each other.
 */
import type {Decision} from '../core/decision';
import type {AdmissionReviewRequest} from './review';

/** How the namespace lookup for a review went; `failed` means the decision used the fallback. */
export const NAMESPACE_LOOKUP_RESULTS = ['ok', 'failed'] as const;
export type NamespaceLookupResult = (typeof NAMESPACE_LOOKUP_RESULTS)[number];

/**
 * Everything about one decision that logs, metrics and audit events need. `review` still holds the
 * object: consumers must take only what ops/decision-summary.ts takes (pods carry secrets in env).
 */
export interface DecisionRecord {
  readonly review: AdmissionReviewRequest;
  readonly decision: Decision | {outcome: 'error'};
  readonly warnings: readonly string[];
  readonly configHash: string;
  readonly durationSeconds: number;
  /** Undefined when no lookup was made (none configured, or a review we don't mutate). */
  readonly namespaceLookup?: NamespaceLookupResult | undefined;
}
