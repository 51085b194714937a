/**
 * One AdmissionReview in, one AdmissionReview out: the webhook's decision, independent of HTTP.
 */
import type {VersionedConfig} from '../core/config';
import {skipped, type Decision} from '../core/decision';
import {injectObject} from '../core/inject-object';
import {injectableKind} from '../core/kinds';
import type {NamespaceLookup} from '../core/namespace';
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

/** What the fallback for an unreadable namespace may have cost this object, said plainly. */
function fallbackWarnings(name: string, namespace: NamespaceLookup | undefined, decision: Decision, level: string): string[] {
  if (namespace === undefined || namespace.ok) return [];
  // The consequence first: the apiserver's reason can be long, and warnings are cut at 256 characters.
  const cannot = `could not read namespace ${name}: ${namespace.reason}`;
  if (decision.outcome === 'injected') return [`injected for the ${level} Pod Security level, the cluster default (${cannot})`];
  if (decision.outcome === 'skipped' && decision.reason === 'not-requested') return [`a namespace-wide request for network services, if any, was not applied (${cannot})`];
  return [];
}

/** Whether the review is one we may mutate, so that the caller fetches the namespace only then. */
export function mayMutate(review: AdmissionReviewRequest): boolean {
  return review.request.operation === 'CREATE' && injectableKind(review.request.kind) !== undefined;
}

/**
 * `namespace`: the lookup's result, or undefined when no lookup is configured (then there is no
 * namespace-level opt-in and the Pod Security level is the config's podSecurityDefault, silently).
 */
export function mutateReview(review: AdmissionReviewRequest, versioned: VersionedConfig, namespace?: NamespaceLookup): MutationOutcome {
  const {request} = review;
  if (request.operation !== 'CREATE') {
    return {answer: reviewResponse(review, undefined, []), decision: skipped('not-create'), warnings: []};
  }
  const result = injectObject({kind: request.kind, object: request.object, seed: request.uid, namespace: namespace?.ok ? namespace.meta : undefined}, versioned);
  const warnings = [...fallbackWarnings(request.namespace ?? '', namespace, result.decision, versioned.config.podSecurityDefault), ...result.warnings].map(tidyWarning);
  // The core hands back the very object it was given when it changed nothing.
  const patch = result.object === request.object ? undefined : diffPatch(request.object, result.object);
  return {answer: reviewResponse(review, patch, warnings), decision: result.decision, warnings};
}
