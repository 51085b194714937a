/**
 * Audit events on the wire: the cloudevents SDK encodes (binary or structured HTTP mode), plain
 * node:http(s) posts. Not the SDK's httpTransport: it has no timeout and resolves on any status.
 *
 * Loaded only when K_SINK is set (audit-trail.ts imports it dynamically): the SDK costs about 16 ms
 * of import after the rest of the function is loaded, 25 ms alone (Node 20, median of 11 runs),
 * which a function without a sink should not pay on every cold start.
 */
import {Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions} from 'node:http';
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https';
import {CloudEvent, HTTP, type Message} from 'cloudevents';
import type {DecisionEvent} from './audit-event';
import type {AuditEventMode} from './audit-settings';

export interface CloudEventSenderOptions {
  readonly sink: URL;
  readonly mode: AuditEventMode;
  /** Sockets kept open to the sink: one per concurrent delivery. */
  readonly maxSockets: number;
  /** Extension attributes added to every event (Knative's K_CE_OVERRIDES). */
  readonly extensions?: Readonly<Record<string, string>>;
}

export interface CloudEventSender {
  send(event: DecisionEvent, signal: AbortSignal): Promise<void>;
  close(): void;
}

/** The SDK's Message body as bytes: binary mode stringifies JSON data, structured the whole event. */
function bodyBytes(message: Message): Buffer {
  const {body} = message;
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
}

/** Encodes one event the way the SDK does; throws the SDK's ValidationError on an invalid event. */
export function encodeEvent(event: DecisionEvent, mode: AuditEventMode, extensions: Readonly<Record<string, string>> = {}): Message {
  const cloudEvent = new CloudEvent({
    ...extensions,
    id: event.id,
    source: event.source,
    type: event.type,
    ...(event.subject !== undefined ? {subject: event.subject} : {}),
    time: event.time,
    datacontenttype: 'application/json',
    data: event.data,
  });
  return mode === 'binary' ? HTTP.binary(cloudEvent) : HTTP.structured(cloudEvent);
}

export function createCloudEventSender(options: CloudEventSenderOptions): CloudEventSender {
  const https = options.sink.protocol === 'https:';
  const agent = https ? new HttpsAgent({keepAlive: true, maxSockets: options.maxSockets}) : new HttpAgent({keepAlive: true, maxSockets: options.maxSockets});
  const post = (requestOptions: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest =>
    https ? httpsRequest(options.sink, requestOptions, onResponse) : httpRequest(options.sink, requestOptions, onResponse);

  return {
    send(event, signal) {
      const message = encodeEvent(event, options.mode, options.extensions);
      const body = bodyBytes(message);
      const headers: Record<string, string | string[]> = {'content-length': String(body.length)};
      for (const [name, value] of Object.entries(message.headers)) if (value !== undefined) headers[name] = value;
      return new Promise((resolve, reject) => {
        // `signal` aborts the request, socket and all, on the queue's deadline or at shutdown.
        const req = post({method: 'POST', agent, headers, signal}, res => {
          // Drain the body so the keep-alive socket can be reused; only the status matters.
          res.resume();
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`the sink answered HTTP ${status}`));
          });
        });
        req.on('error', (error: Error) => reject(signal.aborted && signal.reason instanceof Error ? signal.reason : error));
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
