/**
 * The injector's Prometheus metrics, in a registry of their own (one per runtime, so tests and
 * several runtimes in one process never share counts). Every label takes values from a closed set:
 * kinds outside the injectable ones and unknown operations are `other`, never the caller's string.
 * Label sets known up front start at 0 so that rate() and alerts see the first increment.
 */
import {DEFERRED_SOURCES, REQUEST_SOURCES, SKIP_REASONS} from '../core/decision';
import {INJECTABLE_KINDS, injectableKind} from '../core/kinds';
import type {LoadResult} from '../config/source';
import {ERROR_CODES, type ErrorCode} from '../http/errors';
import {NAMESPACE_LOOKUP_RESULTS, type DecisionRecord} from '../admission/decision-record';
import {Counter, Gauge, Histogram, Registry} from './prom';

/** A metrics page, already rendered. */
export interface MetricsPage {
  readonly contentType: string;
  readonly body: string;
}

export const METRIC_PREFIX = 'nsm_injector_';

/**
 * Seconds. Most answers take well under a millisecond, so the low end is fine; the top is the
 * apiserver's default webhook timeout (10 s), past which the answer no longer matters.
 */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export const OTHER = 'other';
export const DECISION_OUTCOMES = ['injected', 'deferred', 'skipped', 'error'] as const;
/** The `reason` of an `error` decision: the injector threw (a bug); the pod was allowed unchanged. */
export const ERROR_REASON = 'exception';
export const CONFIG_LOAD_RESULTS = ['ok', 'rejected'] as const;
export const CLOUDEVENT_RESULTS = ['sent', 'failed', 'dropped'] as const;
export type CloudEventResult = (typeof CLOUDEVENT_RESULTS)[number];

export interface InjectorMetrics {
  readonly registry: Registry;
  decision(record: DecisionRecord): void;
  refusal(code: ErrorCode): void;
  configLoad(result: LoadResult): void;
  cloudEvent(result: CloudEventResult): void;
  /** Reports the audit queue's length at each scrape. */
  watchQueue(length: () => number): void;
  page(): Promise<MetricsPage>;
}

const kindLabel = (kind: {group: string; kind: string}): string => injectableKind(kind) ?? OTHER;
const operationLabel = (operation: string): string => OPERATIONS.find(o => o === operation) ?? OTHER;

function decisionLabels(decision: DecisionRecord['decision']): {outcome: string; reason: string} {
  switch (decision.outcome) {
    case 'injected':
      return {outcome: 'injected', reason: decision.requestedBy};
    case 'deferred':
      return {outcome: 'deferred', reason: decision.requestedBy};
    case 'skipped':
      return {outcome: 'skipped', reason: decision.reason};
    case 'error':
      return {outcome: 'error', reason: ERROR_REASON};
  }
}

export function createMetrics(version: string): InjectorMetrics {
  const registry = new Registry();
  const registers = [registry];
  const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;

  const requests = new Counter({
    name: name('requests_total'),
    help: 'AdmissionReviews answered, by kind (an injectable kind, or other) and operation.',
    labelNames: ['kind', 'operation'] as const,
    registers,
  });
  const decisions = new Counter({
    name: name('decisions_total'),
    help: 'Decisions: injected (reason: what asked for it), deferred (a workload whose pods are injected when created; reason: what asked for it), skipped (reason: why not), error (the injector failed; allowed unchanged).',
    labelNames: ['outcome', 'reason'] as const,
    registers,
  });
  const refusals = new Counter({
    name: name('refusals_total'),
    help: 'Requests refused before any decision (4xx, or 503 without a valid config), by error code.',
    labelNames: ['code'] as const,
    registers,
  });
  const duration = new Histogram({
    name: name('request_duration_seconds'),
    help: 'Time to answer an AdmissionReview, from reading the body to the answer, including any namespace lookup.',
    labelNames: ['outcome'] as const,
    buckets: [...LATENCY_BUCKETS],
    registers,
  });
  const namespaceLookups = new Counter({
    name: name('namespace_lookups_total'),
    help: 'Namespace reads for namespace-level features; failed: the decision fell back (no namespace opt-in, privileged level).',
    labelNames: ['result'] as const,
    registers,
  });
  const configLoads = new Counter({
    name: name('config_loads_total'),
    help: 'Config reads that found new content, at startup and on reload; rejected: invalid or unreadable, the last good config stays.',
    labelNames: ['result'] as const,
    registers,
  });
  const configInfo = new Gauge({
    name: name('config_info'),
    help: 'The config in force: 1, labelled with its hash. No series while no valid config was ever loaded.',
    labelNames: ['hash'] as const,
    registers,
  });
  const cloudEvents = new Counter({
    name: name('cloudevents_total'),
    help: 'Audit CloudEvents: sent (2xx), failed (error, timeout or non-2xx), dropped (queue full or shutdown). Zero without K_SINK.',
    labelNames: ['result'] as const,
    registers,
  });
  let queueLength: () => number = () => 0;
  new Gauge({
    name: name('cloudevents_queued'),
    help: 'Audit CloudEvents waiting to be sent.',
    registers,
    collect() {
      this.set(queueLength());
    },
  });
  new Gauge({name: name('build_info'), help: 'The injector version: always 1.', labelNames: ['version'] as const, registers}).set({version}, 1);

  for (const kind of INJECTABLE_KINDS) for (const operation of OPERATIONS) requests.inc({kind, operation}, 0);
  for (const reason of REQUEST_SOURCES) decisions.inc({outcome: 'injected', reason}, 0);
  for (const reason of DEFERRED_SOURCES) decisions.inc({outcome: 'deferred', reason}, 0);
  for (const reason of SKIP_REASONS) decisions.inc({outcome: 'skipped', reason}, 0);
  decisions.inc({outcome: 'error', reason: ERROR_REASON}, 0);
  for (const code of ERROR_CODES) refusals.inc({code}, 0);
  for (const outcome of DECISION_OUTCOMES) duration.zero({outcome});
  for (const result of NAMESPACE_LOOKUP_RESULTS) namespaceLookups.inc({result}, 0);
  for (const result of CONFIG_LOAD_RESULTS) configLoads.inc({result}, 0);
  for (const result of CLOUDEVENT_RESULTS) cloudEvents.inc({result}, 0);

  return {
    registry,
    decision(record) {
      const {request} = record.review;
      requests.inc({kind: kindLabel(request.kind), operation: operationLabel(request.operation)});
      const labels = decisionLabels(record.decision);
      decisions.inc(labels);
      duration.observe({outcome: labels.outcome}, record.durationSeconds);
      if (record.namespaceLookup !== undefined) namespaceLookups.inc({result: record.namespaceLookup});
    },
    refusal(code) {
      refusals.inc({code});
    },
    configLoad(result) {
      configLoads.inc({result: result.ok ? 'ok' : 'rejected'});
      if (result.ok) {
        // One config is in force at a time: drop the previous hash's series before setting this one.
        configInfo.reset();
        configInfo.set({hash: result.value.hash}, 1);
      }
    },
    cloudEvent(result) {
      cloudEvents.inc({result});
    },
    watchQueue(length) {
      queueLength = length;
    },
    async page() {
      return {contentType: registry.contentType, body: await registry.metrics()};
    },
  };
}
