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
import {JSON_TYPE, statusAnswer, type ErrorCode, type HttpAnswer} from '../http/errors';
import {isProbe, MAX_BODY_BYTES, pathOf, type Handler} from '../http/handler';
import type {Logger} from '../ops/log';
import {declaredLength, readBody} from './body';
import {closeAfterLinger} from './linger';
import {drainServer} from './shutdown';
import {secureContextOptions, type KeyPair} from './certificates';
import {CallerCheck, type ClientAuthOptions} from './caller-check';
import {answerClientErrors, hostRefusal, type ClientErrors} from './client-error';

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
  /** Counts refusals answered here rather than by the handler (malformed request, body limit, caller refused), e.g. in metrics. */
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
   * An HTTP/1.1 request without Host gets 400, and a caller without an acceptable certificate
   * 401/403; the connection is closed, before a byte of the body is read. Probes (health, metrics)
   * need no certificate.
   */
  const refuseBeforeBody = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    const malformed = hostRefusal(req);
    if (malformed !== undefined) {
      clientErrors.refused(malformed, req.socket);
      closeAfterLinger(req);
      send(res, malformed.answer, true);
      return true;
    }
    if (callers === undefined || isProbe(req.method ?? 'GET', path)) return false;
    const verdict = callers.verdict(req.socket as TLSSocket);
    if (verdict.ok) return false;
    callers.refused(verdict, req, path);
    options.onRefusal?.(verdict.code);
    closeAfterLinger(req);
    send(res, statusAnswer(verdict.code, verdict.message), true);
    return true;
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req.url);
    if (refuseBeforeBody(req, res, path)) return;
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
      send(res, statusAnswer('body-too-large', `request body is ${size}; the limit is ${limit}`), true);
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
      // Refused by hostRefusal above, with a message, rather than by node with an empty 400.
      requireHostHeader: false,
    },
    (req, res) => void onRequest(req, res),
  );

  // What node's parser refuses, answered by us; also counts and logs refuseBeforeBody's 400s (which run
  // only once the server serves, when this is set).
  const clientErrors: ClientErrors = answerClientErrors(server, {logger, onRefusal: options.onRefusal});

  // `Expect: 100-continue` (curl sends it for large bodies): refuse an oversized body before the
  // client sends it, otherwise invite it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (refuseBeforeBody(req, res, pathOf(req.url))) return;
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
    drain: graceMs => {
      draining = true;
      callers?.end();
      clientErrors.end();
      return drainServer(server, graceMs);
    },
  };
}
