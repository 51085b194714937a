/** HTTP-level refusals: a stable code for machines, a message naming the problem for people. */

export const ERROR_CODES = [
  'empty-body',
  'malformed-json',
  'not-admission-review',
  'body-too-large',
  // The knative entry point's gate (knative/gate.ts), before a body byte is read: a body of
  // undeclared length (chunked), or one in a content coding (gzip, deflate, br).
  'length-required',
  'unsupported-content-encoding',
  'method-not-allowed',
  'not-found',
  'not-ready',
  // The HTTPS entry point with CLIENT_CA_FILE: who is calling (https/client-auth.ts).
  'no-client-certificate',
  'unknown-client-ca',
  'invalid-client-certificate',
  'client-name-not-allowed',
  // Our node:http(s) servers (knative/main.ts, https/server.ts), before any request listener: what
  // node's HTTP parser refuses (framing, header syntax, header size), an HTTP/1.1 request without
  // Host, and a request not received in full in time (https/client-error.ts).
  'malformed-request',
  'headers-too-large',
  'request-timeout',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const STATUS: Readonly<Record<ErrorCode, number>> = {
  'empty-body': 400,
  'malformed-json': 400,
  'not-admission-review': 400,
  'body-too-large': 413,
  'length-required': 411,
  'unsupported-content-encoding': 415,
  'method-not-allowed': 405,
  'not-found': 404,
  'not-ready': 503,
  'no-client-certificate': 401,
  'unknown-client-ca': 401,
  'invalid-client-certificate': 401,
  'client-name-not-allowed': 403,
  'malformed-request': 400,
  'headers-too-large': 431,
  'request-timeout': 408,
};

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export const JSON_TYPE = 'application/json; charset=utf-8';

export function errorAnswer(code: ErrorCode, message: string, headers: Record<string, string> = {}): HttpAnswer {
  return {status: STATUS[code], headers: {'content-type': JSON_TYPE, ...headers}, body: JSON.stringify({error: {code, message}})};
}

/** Kubernetes' `StatusReason` (k8s.io/apimachinery metav1) for the statuses answered before the handler runs. */
const STATUS_REASON: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  // metav1's reason for a request that did not complete in time (which it answers 504).
  408: 'Timeout',
  // metav1 has no reason for 411 or 431; BadRequest is what the apiserver uses for a request it can't take as sent.
  411: 'BadRequest',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  431: 'BadRequest',
};

/**
 * A refusal answered by a server before the handler (a caller without a certificate, a body refused
 * unread): our usual `{"error": {code, message}}`, which is also a Kubernetes `Status` (kind,
 * apiVersion, status, reason, code, message). The apiserver's webhook client decodes a Status from an
 * error answer and puts its message in its log; for any other body it logs only a generic line for
 * the status code ("the server has asked for the client to provide credentials").
 */
export function statusAnswer(code: ErrorCode, message: string, headers: Record<string, string> = {}): HttpAnswer {
  const answer = errorAnswer(code, message, headers);
  const status = {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: STATUS_REASON[answer.status] ?? '', code: answer.status, message};
  return {...answer, body: JSON.stringify({...status, error: {code, message}})};
}
