/**
 * The knative entry point's gate (knative/main.ts): what functions-framework's body parser must
 * never be handed, decided from the request's method and headers alone, before a body byte is read.
 *
 * functions-framework 5 reads every body before our code runs, up to a hard-coded 1 GiB, and
 * inflates gzip, deflate and br bodies up to that size: a few hundred KiB of gzip (a few bytes of
 * br) become hundreds of MiB, and a Content-Length check can't see that. The pod's memory limit is
 * 256 Mi, and neither Knative's queue-proxy nor its activator limits a request's size. The
 * kube-apiserver sends every AdmissionReview as plain JSON with a Content-Length (a CREATE review
 * holds one object of at most 3 MiB), so nothing it sends is refused here.
 */
import type {IncomingHttpHeaders} from 'node:http';
import {statusAnswer, type ErrorCode, type HttpAnswer} from '../http/errors';
import {MAX_BODY_BYTES} from '../http/handler';
import {declaredLength} from '../https/body';
import type {LogFields} from '../ops/log';

export interface GateRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
}

export interface GateRefusal {
  readonly code: ErrorCode;
  readonly answer: HttpAnswer;
  /** What was refused, for the log line. */
  readonly fields: LogFields;
}

/** Methods whose requests carry a body: without a Content-Length, theirs is of unknown size. */
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/** A header's value as echoed in a message: clients choose it, so it is cut short. */
const echoed = (value: string): string => JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);

/** Every coding listed is `identity` (or the header is absent or blank): the body is as sent. */
function identityCoded(header: string | undefined): boolean {
  return (header ?? '').split(',').every(coding => ['', 'identity'].includes(coding.trim().toLowerCase()));
}

function refusal(code: ErrorCode, message: string, fields: LogFields, headers?: Record<string, string>): GateRefusal {
  return {code, answer: statusAnswer(code, message, headers), fields: {code, ...fields}};
}

/**
 * A refusal (411, 413 or 415), or undefined to let the request through. Requests without a body
 * (the kubelet's probes, Prometheus's GET /metrics) always pass.
 */
export function gateRefusal(request: GateRequest, limit: number = MAX_BODY_BYTES): GateRefusal | undefined {
  const {method, headers} = request;
  const declared = declaredLength(request);
  const chunked = headers['transfer-encoding'];
  // Any Transfer-Encoding means a body whose size is known only once it has all been read.
  if (chunked !== undefined || (declared === undefined && BODY_METHODS.has(method))) {
    const sent = chunked === undefined ? 'no Content-Length was sent' : `Transfer-Encoding ${echoed(chunked)} was sent instead`;
    return refusal('length-required', `a request body must come with its Content-Length, as the kube-apiserver sends it; ${sent}`, {method, transferEncoding: chunked});
  }
  if (declared === undefined) return undefined;
  if (declared > limit) return refusal('body-too-large', `request body is ${declared} bytes; the limit is ${limit}`, {declared, limit});
  const encoding = headers['content-encoding'];
  if (!identityCoded(encoding)) {
    // RFC 9110 15.5.16: a 415 for a content coding names the codings accepted.
    return refusal('unsupported-content-encoding', `Content-Encoding ${echoed(encoding ?? '')} is not accepted: send the AdmissionReview uncompressed, as the kube-apiserver does`, {declared, contentEncoding: encoding}, {'accept-encoding': 'identity'});
  }
  return undefined;
}
