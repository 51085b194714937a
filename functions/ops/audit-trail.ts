/**
 * The audit trail: one CloudEvent per non-dry-run decision, queued and sent off the admission path
 * (delivery-queue.ts), encoded and posted by cloudevents.ts, which is imported only here and only
 * when K_SINK is set.
 */
import type {DecisionRecord} from '../admission/decision-record';
import {decisionEvent, type DecisionEvent} from './audit-event';
import {sinkForLogs, type AuditSettings} from './audit-settings';
import type {CloudEventSender} from './cloudevents';
import {DeliveryQueue, type DeliveryResult} from './delivery-queue';
import type {Logger} from './log';

export interface AuditTrail {
  /** Queues the decision's event (none for dry-run); returns at once. */
  record(record: DecisionRecord): void;
  /** Events waiting to be sent. */
  readonly length: number;
  /** Resolves once every queued event was sent, failed or dropped. */
  idle(): Promise<void>;
  /** Drops and counts what is still queued or being sent; closes the sink's sockets. */
  close(): void;
}

export interface AuditTrailDeps {
  readonly logger: Logger;
  readonly onResult: (result: DeliveryResult) => void;
  readonly now?: () => Date;
}

export function createAuditTrail(settings: AuditSettings, deps: AuditTrailDeps): AuditTrail {
  // Loading starts now, at startup, so no request ever waits for it (a sync require mid-traffic
  // would block the event loop for the import's duration).
  const sender: Promise<CloudEventSender> = import('./cloudevents').then(m =>
    m.createCloudEventSender({sink: settings.sink, mode: settings.mode, maxSockets: settings.concurrency, extensions: settings.extensions}),
  );
  sender.catch((error: unknown) => deps.logger.log('error', 'cannot load the cloudevents SDK; every audit event will fail', {error: String(error)}));
  const queue = new DeliveryQueue<DecisionEvent>({
    deliver: async (event, signal) => (await sender).send(event, signal),
    capacity: settings.queueSize,
    concurrency: settings.concurrency,
    timeoutMs: settings.timeoutMs,
    onResult: deps.onResult,
    logger: deps.logger,
    what: 'audit events',
    context: {sink: sinkForLogs(settings.sink)},
  });
  const now = deps.now ?? (() => new Date());
  return {
    record(record) {
      const event = decisionEvent(record, settings.source, now());
      if (event !== undefined) queue.offer(event);
    },
    get length() {
      return queue.length;
    },
    idle: () => queue.idle(),
    close() {
      queue.close();
      sender.then(
        s => s.close(),
        () => undefined,
      );
    },
  };
}
