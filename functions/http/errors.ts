/** HTTP-level refusals: a stable code for machines, a message naming the problem for people. */

export const ERROR_CODES = [
  'empty-body',
  'malformed-json',
  'not-admission-review',
  'body-too-large',
  'method-not-allowed',
  'not-found',
  'not-ready',
  // The HTTPS entry point with CLIENT_CA_FILE: who is calling (https/client-auth.ts).
  'no-client-certificate',
  'unknown-client-ca',
  'invalid-client-certificate',
  'client-name-not-allowed',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const STATUS: Readonly<Record<ErrorCode, number>> = {
  'empty-body': 400,
  'malformed-json': 400,
  'not-admission-review': 400,
  'body-too-large': 413,
  'method-not-allowed': 405,
  'not-found': 404,
  'not-ready': 503,
  'no-client-certificate': 401,
  'unknown-client-ca': 401,
  'invalid-client-certificate': 401,
  'client-name-not-allowed': 403,
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
