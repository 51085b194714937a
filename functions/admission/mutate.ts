/**
 * One AdmissionReview in, one AdmissionReview out: the webhook's decision, independent of HTTP.
 */
import type {VersionedConfig} from '../core/config';
import {skipped, type Decision} from '../core/decision';
import {injectObject} from '../core/inject-object';
import {diffPatch} from './patch';
import {reviewResponse, type AdmissionReviewRequest, type AdmissionReviewResponse} from './review';

export interface MutationOutcome {
  readonly answer: AdmissionReviewResponse;
  readonly decision: Decision;
  readonly warnings: readonly string[];
}

// The apiserver keeps at most 4 KiB of warnings and may cut each past 256 characters; keep ours
// printable and short so none is lost mid-sentence.
const MAX_WARNING = 256;
function tidyWarning(warning: string): string {
  const printable = warning.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return printable.length > MAX_WARNING ? `${printable.slice(0, MAX_WARNING - 1)}…` : printable;
}

export function mutateReview(review: AdmissionReviewRequest, versioned: VersionedConfig): MutationOutcome {
  const {request} = review;
  if (request.operation !== 'CREATE') {
    return {answer: reviewResponse(review, undefined, []), decision: skipped('not-create'), warnings: []};
  }
  const result = injectObject({kind: request.kind, object: request.object, seed: request.uid}, versioned);
  const warnings = result.warnings.map(tidyWarning);
  const patch = result.decision.outcome === 'injected' ? diffPatch(request.object, result.object) : undefined;
  return {answer: reviewResponse(review, patch, warnings), decision: result.decision, warnings};
}
