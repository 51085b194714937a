/**
 * The webhook's HTTP surface as a plain function: method, path and body bytes in; status, headers
 * and body out. It knows nothing of express or node:http, so functions-framework (index.ts) and the
 * deployment profile's HTTPS server serve the very same handler.
 *
 *   POST /mutate, POST /   AdmissionReview -> AdmissionReview (never 5xx for bad input)
 *   GET  /healthz          200 while a valid config is loaded
 *   GET  /readyz, /ready   same check: ready to answer reviews (/ready is NSM's webhook's path)
 *   GET  /metrics          Prometheus text format, when the deps provide metrics
 */
import type {VersionedConfig} from '../core/config';
import {mayMutate, mutateReview} from '../admission/mutate';
import type {NamespaceLookup, NamespaceSource} from '../kube/namespaces';
import type {DecisionRecord, NamespaceLookupResult} from '../admission/decision-record';
import type {MetricsPage} from '../ops/metrics';
import {answerJson, checkReview, reviewResponse, type AdmissionReviewRequest, type AdmissionReviewResponse} from '../admission/review';
import {logDecision} from '../ops/decision-log';
import type {Logger} from '../ops/log';
import {errorAnswer, JSON_TYPE, type ErrorCode, type HttpAnswer} from './errors';

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

export interface HandlerDeps {
  readonly config: () => VersionedConfig | undefined;
  readonly logger: Logger;
  /** Called once per answered review, after the answer is built; a throw is logged and ignored. */
  readonly onDecision?: (record: DecisionRecord) => void;
  /** Called once per request refused with a 4xx/5xx before any decision (not for health probes). */
  readonly onRefusal?: (code: ErrorCode) => void;
  /** Renders `GET /metrics`; absent: that path is 404 like any unknown one. */
  readonly metrics?: () => Promise<MetricsPage>;
  /** Namespace metadata for reviews that may be mutated; absent: no namespace-level features. */
  readonly namespaces?: NamespaceSource | undefined;
  readonly now?: () => number;
}

const MUTATE_PATHS: ReadonlySet<string> = new Set(['/', '/mutate']);
// `/ready` is where NSM's own webhook answers readiness: its Deployment's probe works unchanged.
const HEALTH_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/ready']);
const METRICS_PATH = '/metrics';
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * Reads of the health and metrics pages: what the kubelet's probes and Prometheus send, which
 * carry no client certificate. The HTTPS entry point answers these without one (docs/tls.md).
 */
export function isProbe(method: string, path: string): boolean {
  return READ_METHODS.has(method) && (HEALTH_PATHS.has(path) || path === METRICS_PATH);
}

/** The path without the query, from a request-target: the apiserver calls `/mutate?timeout=5s`. */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
}

function ok(body: unknown): HttpAnswer {
  return {status: 200, headers: {'content-type': JSON_TYPE}, body: JSON.stringify(body)};
}

const answered = (answer: AdmissionReviewResponse): HttpAnswer => ({status: 200, headers: {'content-type': JSON_TYPE}, body: answerJson(answer)});

type Parsed = {ok: true; value: unknown} | {ok: false; code: ErrorCode; message: string};

function parseBody(body: RequestBody | undefined): Parsed {
  const size = body === undefined ? 0 : 'bytes' in body ? body.bytes.length : body.size;
  if (size > MAX_BODY_BYTES) {
    return {ok: false, code: 'body-too-large', message: `request body is ${size} bytes; the limit is ${MAX_BODY_BYTES}`};
  }
  if (body === undefined || size === 0) return {ok: false, code: 'empty-body', message: 'request body is empty; expected an AdmissionReview'};
  if ('parsed' in body) return {ok: true, value: body.parsed};
  try {
    return {ok: true, value: JSON.parse(body.bytes.toString('utf8'))};
  } catch (error) {
    return {ok: false, code: 'malformed-json', message: `request body is not valid JSON: ${(error as Error).message}`};
  }
}

/**
 * An answer, or a promise of one: a review that needs no namespace lookup (none configured, or not
 * a CREATE of an injectable kind) is answered synchronously. Functions-framework runs each request
 * in a `domain`, which turns on async hooks, and there every promise costs (docs/benchmarks.md).
 */
export type Handler = (request: HttpRequest) => HttpAnswer | Promise<HttpAnswer>;

export function createHandler(deps: HandlerDeps): Handler {
  const now = deps.now ?? (() => performance.now());

  const refuse = (code: ErrorCode, message: string, headers?: Record<string, string>): HttpAnswer => {
    deps.onRefusal?.(code);
    return errorAnswer(code, message, headers);
  };

  // A failing observer (metrics, audit queue) must never change or block the answer.
  const observe = (record: DecisionRecord): void => {
    try {
      deps.onDecision?.(record);
    } catch (error) {
      deps.logger.log('error', 'decision observer failed', {uid: record.review.request.uid, error: String(error)});
    }
  };

  const lookupNamespace = (source: NamespaceSource, namespace: string): Promise<NamespaceLookup> =>
    // The contract is to resolve with {ok: false}; a source that rejects anyway gets the same fallback.
    source.lookup(namespace).catch((error: unknown): NamespaceLookup => ({ok: false, reason: String(error)}));

  const decide = (input: AdmissionReviewRequest, versioned: VersionedConfig, started: number, lookup: NamespaceLookup | undefined): HttpAnswer => {
    const namespaceLookup: NamespaceLookupResult | undefined = lookup === undefined ? undefined : lookup.ok ? 'ok' : 'failed';
    let answer: HttpAnswer;
    let outcome: Pick<DecisionRecord, 'decision' | 'warnings'>;
    try {
      const mutation = mutateReview(input, versioned, lookup);
      answer = answered(mutation.answer);
      outcome = mutation;
    } catch (error) {
      // A bug of ours must not block pod creation: allow without a patch, say so, and log it.
      const warning = 'the NSM sidecar injector failed on this object; nothing injected';
      deps.logger.log('error', 'injection failed', {uid: input.request.uid, error: String(error)});
      answer = answered(reviewResponse(input, undefined, [warning]));
      outcome = {decision: {outcome: 'error'}, warnings: [warning]};
    }
    const record: DecisionRecord = {
      review: input,
      decision: outcome.decision,
      warnings: outcome.warnings,
      configHash: versioned.hash,
      namespaceLookup,
      durationSeconds: (now() - started) / 1000,
    };
    logDecision(deps.logger, record);
    observe(record);
    return answer;
  };

  const review = (body: RequestBody | undefined): HttpAnswer | Promise<HttpAnswer> => {
    const started = now();
    // Bad input is the client's problem whatever our state: 4xx first, then 503 if we can't decide.
    const parsed = parseBody(body);
    if (!parsed.ok) return refuse(parsed.code, parsed.message);
    const checked = checkReview(parsed.value);
    if (!checked.ok) return refuse('not-admission-review', checked.message);
    const versioned = deps.config();
    if (versioned === undefined) return refuse('not-ready', 'no valid injector config is loaded');
    const input = checked.review;
    const namespace = input.request.namespace;
    if (deps.namespaces === undefined || namespace === undefined || namespace === '' || !mayMutate(input)) return decide(input, versioned, started, undefined);
    return lookupNamespace(deps.namespaces, namespace).then(lookup => decide(input, versioned, started, lookup));
  };

  const metricsPage = async (metrics: () => Promise<MetricsPage>): Promise<HttpAnswer> => {
    const page = await metrics();
    return {status: 200, headers: {'content-type': page.contentType}, body: page.body};
  };

  return request => {
    if (MUTATE_PATHS.has(request.path)) {
      if (request.method !== 'POST') return refuse('method-not-allowed', `${request.method} is not allowed here; POST an AdmissionReview`, {allow: 'POST'});
      return review(request.body);
    }
    if (HEALTH_PATHS.has(request.path)) {
      if (!READ_METHODS.has(request.method)) return refuse('method-not-allowed', `${request.method} is not allowed here; use GET`, {allow: 'GET, HEAD'});
      // A failing probe is the probe's news, not a refused request: not counted.
      const versioned = deps.config();
      return versioned === undefined ? errorAnswer('not-ready', 'no valid injector config is loaded') : ok({status: 'ok', configHash: versioned.hash});
    }
    if (request.path === METRICS_PATH && deps.metrics !== undefined) {
      if (!READ_METHODS.has(request.method)) return refuse('method-not-allowed', `${request.method} is not allowed here; use GET`, {allow: 'GET, HEAD'});
      return metricsPage(deps.metrics);
    }
    return refuse('not-found', `no route for ${request.path}; POST AdmissionReviews to /mutate`);
  };
}
