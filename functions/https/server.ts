/**
 * The webhook over HTTPS on plain `node:https`, for the deployment profile: the same framework-free
 * handler functions-framework serves (http/handler.ts), with what an endpoint the kube-apiserver
 * calls directly needs and functions-framework doesn't give: TLS with a certificate that can be
 * replaced while running, optionally a client certificate required of callers, a body ceiling
 * enforced while reading, tight timeouts, and a drain.
 */
import type {IncomingMessage, ServerResponse} from 'node:http';
import {createServer, type Server} from 'node:https';
import type {TLSSocket} from 'node:tls';
import {errorAnswer, JSON_TYPE, type ErrorCode, type HttpAnswer} from '../http/errors';
import {isProbe, MAX_BODY_BYTES, type Handler} from '../http/handler';
import type {Logger} from '../ops/log';
import {declaredLength, readBody} from './body';
import {secureContextOptions, type KeyPair} from './certificates';
import {CallerCheck, type ClientAuthOptions} from './caller-check';

export const TIMEOUTS = {
  /** A client gets 10 s to send its headers: a slow-header client can't hold a connection open. */
  headersMs: 10_000,
  /** And 30 s for the whole request: the apiserver itself never waits longer than 30 s. */
  requestMs: 30_000,
  /**
   * Idle keep-alive connections are kept 120 s, longer than the apiserver's client keeps them
   * (90 s). Closing first would race the client reusing the connection for its next POST, which Go
   * does not retry: that review would fail (and, with failurePolicy Ignore, go uninjected).
   */
  keepAliveMs: 120_000,
};

export interface WebhookServerOptions {
  readonly handle: Handler;
  readonly logger: Logger;
  readonly pair: KeyPair;
  readonly clientAuth?: ClientAuthOptions;
  readonly maxBodyBytes?: number;
  /** Counts refusals answered here rather than by the handler (body limit, caller refused), e.g. in metrics. */
  readonly onRefusal?: (code: ErrorCode) => void;
}

export interface WebhookServer {
  readonly server: Server;
  /** New connections use this pair; connections already open keep the one they negotiated. */
  setCertificate(pair: KeyPair): void;
  /**
   * New connections are verified against these CAs. Idle connections verified against the old ones
   * are closed now, busy ones after their answer: a caller the new CAs refuse loses its connection
   * after at most the request in flight. Only with `clientAuth`.
   */
  setClientCa(ca: string): void;
  /**
   * Stops accepting connections and lets requests in flight finish; connections close as their
   * responses end. Resolves true once the last connection is gone, or false when `graceMs` ran out
   * first (the remaining connections are then cut).
   */
  drain(graceMs: number): Promise<boolean>;
}

/** The path without the query: the apiserver calls `/mutate?timeout=5s`. */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
}

/**
 * After refusing a body we answer and close, but not at once. Node closes a `Connection: close`
 * connection as soon as the answer is written; if the client is still sending its body, unread
 * bytes are left in our receive buffer, and closing then makes the kernel send a TCP reset, which
 * can wipe the 413 from the client's buffer before it is read (the reason nginx has
 * `lingering_close`). So: half-close (our answer, then FIN), read and drop, never keep, what still
 * arrives for at most `ms` or `bytes`, then close. A client that read the answer stops sending and
 * closes its side first.
 */
export const LINGER = {ms: 2_000, bytes: 4 * 1024 * 1024};

function closeAfterLinger(req: IncomingMessage): void {
  const socket = req.socket;
  const close = (): void => {
    socket.destroy();
  };
  // destroySoon() is what node's HTTP server calls on this socket once the response is written.
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(close, LINGER.ms);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    let dropped = 0;
    req.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > LINGER.bytes) close();
    });
    req.resume();
  };
}

/**
 * A refused caller's answer: our usual `{"error": {code, message}}`, which is also a Kubernetes
 * `Status` (kind, apiVersion, status, reason, code, message). The apiserver's webhook client decodes
 * a Status from an error answer and puts its message in its log; for any other body it logs only a
 * generic line for the status code ("the server has asked for the client to provide credentials").
 */
function callerRefusal(code: ErrorCode, message: string): HttpAnswer {
  const {status, headers} = errorAnswer(code, message);
  const reason = status === 401 ? 'Unauthorized' : 'Forbidden';
  return {status, headers, body: JSON.stringify({kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, code: status, message, error: {code, message}})};
}

const internalError = (): HttpAnswer => ({
  status: 500,
  headers: {'content-type': JSON_TYPE},
  body: JSON.stringify({error: {code: 'internal', message: 'the server failed to answer this request'}}),
});

export function createWebhookServer(options: WebhookServerOptions): WebhookServer {
  const {handle, logger, clientAuth} = options;
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const callers = clientAuth === undefined ? undefined : new CallerCheck(clientAuth, logger);
  let pair = options.pair;
  let clientCa = clientAuth?.ca;
  let draining = false;

  const send = (res: ServerResponse, answer: HttpAnswer, close: boolean): void => {
    const headers: Record<string, string> = {...answer.headers, 'content-length': String(Buffer.byteLength(answer.body))};
    // `Connection: close` makes node close the socket once this response is written.
    if (close) headers['connection'] = 'close';
    res.writeHead(answer.status, headers);
    res.end(answer.body);
  };

  /**
   * A caller without an acceptable certificate gets 401/403 and the connection is closed, before
   * a byte of its body is read. Probes (health, metrics) need no certificate.
   */
  const refuseCaller = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    if (callers === undefined || isProbe(req.method ?? 'GET', path)) return false;
    const verdict = callers.verdict(req.socket as TLSSocket);
    if (verdict.ok) return false;
    callers.refused(verdict, req, path);
    options.onRefusal?.(verdict.code);
    closeAfterLinger(req);
    send(res, callerRefusal(verdict.code, verdict.message), true);
    return true;
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req.url);
    if (refuseCaller(req, res, path)) return;
    const body = await readBody(req, limit);
    if (!body.ok) {
      if (body.reason === 'aborted') {
        res.destroy();
        return;
      }
      // Answer now and close: the rest of the body is never kept.
      logger.log('warn', 'request body over the limit; refused', {path, limit, declared: body.declared, received: body.received});
      const size = body.declared !== undefined ? `${body.declared} bytes` : `over ${limit} bytes (${body.received} read)`;
      closeAfterLinger(req);
      options.onRefusal?.('body-too-large');
      send(res, errorAnswer('body-too-large', `request body is ${size}; the limit is ${limit}`), true);
      return;
    }
    let answer: HttpAnswer;
    try {
      answer = await handle({method: req.method ?? 'GET', path, body: {bytes: body.bytes}});
    } catch (error) {
      logger.log('error', 'request failed', {path, error: String(error)});
      answer = internalError();
    }
    send(res, answer, draining || callers?.stale(req.socket as TLSSocket) === true);
  };

  const server = createServer(
    {
      ...secureContextOptions(pair, clientCa),
      // Ask every caller for a certificate but finish every handshake: the verdict is taken above,
      // where it can be answered with its reason and counted (client-auth.ts, docs/tls.md).
      requestCert: clientAuth !== undefined,
      rejectUnauthorized: false,
      headersTimeout: TIMEOUTS.headersMs,
      requestTimeout: TIMEOUTS.requestMs,
      keepAliveTimeout: TIMEOUTS.keepAliveMs,
    },
    (req, res) => void onRequest(req, res),
  );

  // `Expect: 100-continue` (curl sends it for large bodies): refuse an oversized body before the
  // client sends it, otherwise invite it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (refuseCaller(req, res, pathOf(req.url))) return;
    const declared = declaredLength(req);
    if (declared === undefined || declared <= limit) res.writeContinue();
    void onRequest(req, res);
  });

  if (callers !== undefined) server.on('secureConnection', (socket: TLSSocket) => callers.connected(socket));
  // Failed handshakes (TLS 1.1 clients, port scanners, the kubelet's TCP probes) are not our errors.
  server.on('tlsClientError', error => logger.log('debug', 'TLS handshake failed', {error: error.message}));

  return {
    server,
    setCertificate: next => {
      pair = next;
      server.setSecureContext(secureContextOptions(pair, clientCa));
    },
    setClientCa: ca => {
      if (clientAuth === undefined) throw new Error('setClientCa on a server without clientAuth');
      clientCa = ca;
      server.setSecureContext(secureContextOptions(pair, clientCa));
      callers?.caChanged();
      server.closeIdleConnections();
    },
    drain: graceMs =>
      new Promise<boolean>(resolve => {
        draining = true;
        callers?.end();
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve(false);
        }, graceMs);
        timer.unref();
        // close(): no new connections; resolves once every open connection has closed. Idle
        // keep-alive connections are closed now; busy ones after their response (`draining`
        // makes it carry `Connection: close`).
        server.close(() => {
          clearTimeout(timer);
          resolve(true);
        });
        server.closeIdleConnections();
      }),
  };
}
