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
    response.patch = base64(JSON.stringify(patch));
  }
  if (warnings.length > 0) response.warnings = [...warnings];
  return {apiVersion: review.apiVersion, kind: 'AdmissionReview', response};
}

/** Base64 of the text's UTF-8 bytes; btoa (Latin-1) gives the same for ASCII, without a Buffer. */
function base64(text: string): string {
  // Every non-ASCII character takes two or more UTF-8 bytes: equal lengths mean ASCII only.
  return Buffer.byteLength(text) === text.length ? btoa(text) : Buffer.from(text).toString('base64');
}

/**
 * The answer as JSON text: what JSON.stringify(answer) gives, byte for byte (test/review.test.ts
 * checks it), for an answer made by reviewResponse. Written out because JSON.stringify scans every
 * character of the base64 patch (3 KB for a typical pod) for something to escape, and base64 has
 * nothing to escape (docs/benchmarks.md).
 */
export function answerJson(answer: AdmissionReviewResponse): string {
  const {response} = answer;
  let text = `{"apiVersion":${JSON.stringify(answer.apiVersion)},"kind":"AdmissionReview","response":{"uid":${JSON.stringify(response.uid)},"allowed":true`;
  if (response.patchType !== undefined) text += `,"patchType":"${response.patchType}"`;
  if (response.patch !== undefined) text += `,"patch":"${response.patch}"`;
  if (response.warnings !== undefined) text += `,"warnings":${JSON.stringify(response.warnings)}`;
  return `${text}}}`;
}
