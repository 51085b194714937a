/**
 * The line per decision: enough to answer "was the webhook called for my pod, and what did it
 * decide?" from the logs alone. Fields come from the decision summary, never from the object.
 */
import type {DecisionRecord} from '../admission/decision-record';
import {summarize} from './decision-summary';
import type {Logger, LogLevel} from './log';

export const DECISION_MESSAGE = 'admission decision';

/**
 * Most pods in a cluster reach the webhook (it cannot select on annotations) and don't ask for
 * NSM. A line for each would be most of the log, and a measurable share of each review's CPU
 * (docs/benchmarks.md): those are logged at debug, and counted in
 * nsm_injector_decisions_total{outcome="skipped",reason="not-requested"}. One that carries a
 * warning (a blank annotation, a namespace that could not be read) is worth reading, and so is
 * every other decision: info.
 */
export function decisionLevel(record: DecisionRecord): LogLevel {
  const {decision} = record;
  return decision.outcome === 'skipped' && decision.reason === 'not-requested' && record.warnings.length === 0 ? 'debug' : 'info';
}

export function logDecision(logger: Logger, record: DecisionRecord): void {
  const level = decisionLevel(record);
  if (logger.enabled?.(level) === false) return;
  const s = summarize(record);
  logger.log(level, DECISION_MESSAGE, {
    uid: s.uid,
    namespace: s.namespace,
    kind: s.kind.kind,
    name: s.name,
    operation: s.operation,
    decision: s.outcome,
    reason: s.reason,
    requestedBy: s.requestedBy,
    injectedContainers: s.injected === undefined ? undefined : [...s.injected.initContainers, ...s.injected.containers],
    warnings: s.warnings.length > 0 ? s.warnings : undefined,
    namespaceLookup: s.namespaceLookup,
    dryRun: s.dryRun,
    configHash: s.configHash,
    durationMs: Math.round(s.durationSeconds * 1e6) / 1e3,
  });
}
