/**
 * A real HTTP CloudEvents receiver for the audit tests: a node:http server that decodes each POST
 * with the cloudevents HTTP binding. It can accept (202), fail (500), or hang (read the request,
 * never answer) to show what the injector does when the sink misbehaves.
 */
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http';
import type {AddressInfo} from 'node:net';
import {HTTP, type CloudEventV1} from 'cloudevents';

export const RECEIVER_BEHAVIOURS = ['accept', 'fail', 'hang'] as const;
export type ReceiverBehaviour = (typeof RECEIVER_BEHAVIOURS)[number];

export interface ReceivedRequest {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface CloudEventReceiver {
  readonly url: string;
  /** Every request body and headers, as received (for checking what never appears). */
  readonly requests: ReceivedRequest[];
  /** The decoded events of answered requests (accept mode). */
  readonly events: Array<CloudEventV1<unknown>>;
  /** Requests received and not answered (hang mode). */
  readonly pending: () => number;
  /** How many requests got an answer. */
  readonly answered: () => number;
  /** Resolves when the n-th request (1-based) has been fully received. */
  received(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(behaviour: ReceiverBehaviour): Promise<CloudEventReceiver> {
  const requests: ReceivedRequest[] = [];
  const events: Array<CloudEventV1<unknown>> = [];
  const hanging = new Set<ServerResponse>();
  let answered = 0;
  const waiters: Array<{n: number; resolve: () => void}> = [];
  const notify = (): void => {
    for (const w of waiters.splice(0)) {
      if (requests.length >= w.n) w.resolve();
      else waiters.push(w);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({headers: req.headers, body});
      if (behaviour === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
      } else if (behaviour === 'fail') {
        res.writeHead(500).end();
        answered++;
      } else {
        const decoded = HTTP.toEvent({headers: req.headers, body});
        for (const event of Array.isArray(decoded) ? decoded : [decoded]) events.push(event);
        res.writeHead(202).end();
        answered++;
      }
      notify();
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    requests,
    events,
    pending: () => hanging.size,
    answered: () => answered,
    received: n => (requests.length >= n ? Promise.resolve() : new Promise(resolve => waiters.push({n, resolve}))),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}
