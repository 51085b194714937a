/**
 * The webhook's HTTP surface as a plain function: method, path and body bytes in; status, headers
 * and body out. It knows nothing of express or node:http, so functions-framework (index.ts) and the
 * deployment profile's HTTPS server serve the very same handler.
 *
 *   POST /mutate, POST /   AdmissionReview -> AdmissionReview (never 5xx for bad input)
 *   GET  /healthz          200 while a valid config is loaded
 *   GET  /readyz           same check: ready to answer reviews
 */
import type {VersionedConfig} from '../core/config';
import type {Decision} from '../core/decision';
import {mayMutate, mutateReview} from '../admission/mutate';
import type {NamespaceSource} from '../kube/namespaces';
import {checkReview, type AdmissionReviewRequest} from '../admission/review';
import type {Logger} from '../ops/log';
import {errorAnswer, JSON_TYPE, type HttpAnswer} from './errors';

/**
 * The largest review we read. The apiserver refuses objects over 3 MiB, and a CREATE review carries
 * one object (an UPDATE two); 6 MiB leaves room for the envelope. Larger bodies get 413.
 */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** A body as raw bytes, or already parsed by a framework (its size in bytes still known). */
export type RequestBody = {readonly bytes: Buffer} | {readonly parsed: unknown; readonly size: number};

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly body: RequestBody | undefined;
}

/** Everything about one decision that logs, metrics and audit events need; no pod contents. */
export interface DecisionRecord {
  readonly review: AdmissionReviewRequest;
  readonly decision: Decision | {outcome: 'error'};
  readonly warnings: readonly string[];
  readonly configHash: string;
  readonly durationSeconds: number;
}

export interface HandlerDeps {
  readonly config: () => VersionedConfig | undefined;
  readonly logger: Logger;
  /** Called once per answered review, after the answer is built. Must not throw. */
  readonly onDecision?: (record: DecisionRecord) => void;
  /** Namespace metadata for reviews that may be mutated; absent: no namespace-level features. */
  readonly namespaces?: NamespaceSource | undefined;
  readonly now?: () => number;
}

const MUTATE_PATHS: ReadonlySet<string> = new Set(['/', '/mutate']);
const HEALTH_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

function ok(body: unknown): HttpAnswer {
  return {status: 200, headers: {'content-type': JSON_TYPE}, body: JSON.stringify(body)};
}

type Parsed = {ok: true; value: unknown} | {ok: false; answer: HttpAnswer};

function parseBody(body: RequestBody | undefined): Parsed {
  const size = body === undefined ? 0 : 'bytes' in body ? body.bytes.length : body.size;
  if (size > MAX_BODY_BYTES) {
    return {ok: false, answer: errorAnswer('body-too-large', `request body is ${size} bytes; the limit is ${MAX_BODY_BYTES}`)};
  }
  if (body === undefined || size === 0) return {ok: false, answer: errorAnswer('empty-body', 'request body is empty; expected an AdmissionReview')};
  if ('parsed' in body) return {ok: true, value: body.parsed};
  try {
    return {ok: true, value: JSON.parse(body.bytes.toString('utf8'))};
  } catch (error) {
    return {ok: false, answer: errorAnswer('malformed-json', `request body is not valid JSON: ${(error as Error).message}`)};
  }
}

function nameOf(review: AdmissionReviewRequest): string | undefined {
  if (review.request.name) return review.request.name;
  const object = review.request.object;
  if (typeof object !== 'object' || object === null) return undefined;
  const metadata = (object as {metadata?: {generateName?: unknown}}).metadata;
  return typeof metadata?.generateName === 'string' ? metadata.generateName : undefined;
}

export type Handler = (request: HttpRequest) => Promise<HttpAnswer>;

export function createHandler(deps: HandlerDeps): Handler {
  const now = deps.now ?? (() => performance.now());

  const review = async (body: RequestBody | undefined): Promise<HttpAnswer> => {
    const started = now();
    const versioned = deps.config();
    if (versioned === undefined) return errorAnswer('not-ready', 'no valid injector config is loaded');
    const parsed = parseBody(body);
    if (!parsed.ok) return parsed.answer;
    const checked = checkReview(parsed.value);
    if (!checked.ok) return errorAnswer('not-admission-review', checked.message);
    const input = checked.review;
    const namespace = input.request.namespace;
    const lookup = deps.namespaces !== undefined && namespace !== undefined && namespace !== '' && mayMutate(input) ? await deps.namespaces.lookup(namespace) : undefined;
    let answer: HttpAnswer;
    let record: Omit<DecisionRecord, 'durationSeconds'>;
    try {
      const outcome = mutateReview(input, versioned, lookup);
      answer = ok(outcome.answer);
      record = {review: input, decision: outcome.decision, warnings: outcome.warnings, configHash: versioned.hash};
    } catch (error) {
      // A bug of ours must not block pod creation: allow without a patch, say so, and log it.
      const warning = 'the NSM sidecar injector failed on this object; nothing injected';
      deps.logger.log('error', 'injection failed', {uid: input.request.uid, error: String(error)});
      answer = ok({apiVersion: input.apiVersion, kind: 'AdmissionReview', response: {uid: input.request.uid, allowed: true, warnings: [warning]}});
      record = {review: input, decision: {outcome: 'error'}, warnings: [warning], configHash: versioned.hash};
    }
    const durationSeconds = (now() - started) / 1000;
    logDecision(deps.logger, {...record, durationSeconds});
    deps.onDecision?.({...record, durationSeconds});
    return answer;
  };

  return async request => {
    if (MUTATE_PATHS.has(request.path)) {
      if (request.method !== 'POST') return errorAnswer('method-not-allowed', `${request.method} is not allowed here; POST an AdmissionReview`, {allow: 'POST'});
      return review(request.body);
    }
    if (HEALTH_PATHS.has(request.path)) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return errorAnswer('method-not-allowed', `${request.method} is not allowed here; use GET`, {allow: 'GET, HEAD'});
      const versioned = deps.config();
      return versioned === undefined ? errorAnswer('not-ready', 'no valid injector config is loaded') : ok({status: 'ok', configHash: versioned.hash});
    }
    return errorAnswer('not-found', `no route for ${request.path}; POST AdmissionReviews to /mutate`);
  };
}

function logDecision(logger: Logger, record: DecisionRecord): void {
  const {review, decision} = record;
  logger.log('info', 'admission decision', {
    uid: review.request.uid,
    namespace: review.request.namespace,
    kind: review.request.kind.kind,
    name: nameOf(review),
    operation: review.request.operation,
    decision: decision.outcome,
    reason: decision.outcome === 'skipped' ? decision.reason : undefined,
    warnings: record.warnings.length > 0 ? record.warnings : undefined,
    requestedBy: decision.outcome === 'injected' ? decision.requestedBy : undefined,
    dryRun: review.request.dryRun === true,
    configHash: record.configHash,
    durationMs: Math.round(record.durationSeconds * 1e6) / 1e3,
  });
}
