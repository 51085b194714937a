/**
 * The one log line per decision: enough to answer "was the webhook called for my pod, and what did
 * it decide?" from the logs alone. Fields come from the decision summary, never from the object.
 */
import type {DecisionRecord} from '../admission/decision-record';
import {summarize} from './decision-summary';
import type {Logger} from './log';

export const DECISION_MESSAGE = 'admission decision';

export function logDecision(logger: Logger, record: DecisionRecord): void {
  const s = summarize(record);
  logger.log('info', DECISION_MESSAGE, {
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
