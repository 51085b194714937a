/**
 * AdmissionReview: the envelope the kube-apiserver sends and expects back (admission.k8s.io v1 and
 * v1beta1 have the same shape for what we use). The types are hand-written on purpose: the fields
 * we read are few, and the validator is compiled from the schema in review-schema.ts.
 */
import type {ValidateFunction} from 'ajv';
import {REVIEW_API_VERSIONS} from './review-schema';
import {validate as validateReviewGenerated} from './review-validator.generated';

export {REVIEW_API_VERSIONS};
export type ReviewApiVersion = (typeof REVIEW_API_VERSIONS)[number];

export interface AdmissionRequest {
  uid: string;
  kind: {group: string; version: string; kind: string};
  operation: string;
  namespace?: string;
  name?: string;
  object?: unknown;
  dryRun?: boolean;
}

export interface AdmissionReviewRequest {
  apiVersion: ReviewApiVersion;
  kind: 'AdmissionReview';
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  /** base64 of the JSON patch. */
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: ReviewApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

// Compiled from REVIEW_SCHEMA at development time (see review-schema.ts); no Ajv at run time.
const validate = validateReviewGenerated as unknown as ValidateFunction<AdmissionReviewRequest>;

export type ReviewCheck = {ok: true; review: AdmissionReviewRequest} | {ok: false; message: string};

/** Checks the envelope only; what the object inside looks like is the core's business. */
export function checkReview(body: unknown): ReviewCheck {
  if (validate(body)) return {ok: true, review: body};
  const error = validate.errors?.[0];
  const at = error ? error.instancePath.split('/').filter(Boolean).join('.') : '';
  const detail =
    error?.keyword === 'required'
      ? `missing ${[at, String(error.params['missingProperty'])].filter(Boolean).join('.')}`
      : error?.keyword === 'enum'
        ? `${at || 'body'} must be one of ${REVIEW_API_VERSIONS.join(', ')}`
        : `${at || 'body'} ${error?.message ?? 'is invalid'}`;
  return {ok: false, message: `not an AdmissionReview: ${detail}`};
}

/** The answer: same apiVersion, same uid, always allowed (we mutate, we never deny). */
export function reviewResponse(
  review: AdmissionReviewRequest,
  patch: readonly unknown[] | undefined,
  warnings: readonly string[],
): AdmissionReviewResponse {
  const response: AdmissionResponse = {uid: review.request.uid, allowed: true};
  if (patch !== undefined && patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (warnings.length > 0) response.warnings = [...warnings];
  return {apiVersion: review.apiVersion, kind: 'AdmissionReview', response};
}
