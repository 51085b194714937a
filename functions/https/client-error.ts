/**
 * What node's HTTP server refuses before any request listener of ours runs, answered as every other
 * refusal of ours is: a Kubernetes `Status` with a stable code and a message naming the problem,
 * `Connection: close`, counted in `nsm_injector_refusals_total` and logged once per burst. Shared by
 * our two servers: knative/main.ts (node:http) and https/server.ts (node:https).
 *
 * node's parser (llhttp) refuses malformed framing (two Content-Lengths, Content-Length with
 * Transfer-Encoding, `Content-Length: +3`), bad request lines and header syntax, and headers over
 * its size limit; its server refuses a request not received in full in time. With no 'clientError'
 * listener node answers all of them with an empty 400 (431, 408) and cuts the connection at once,
 * which loses even that answer when the client is still sending (the kernel resets the
 * connection). An HTTP/1.1 request without Host node answers itself, also with an empty 400,
 * unless the server sets `requireHostHeader: false`: ours do, and refuse it with `hostRefusal`.
 *
 * Nothing the kube-apiserver sends is refused here: Go's HTTP client frames every request correctly.
 */
import {maxHeaderSize, STATUS_CODES, type IncomingHttpHeaders, type Server} from 'node:http';
import type {Socket} from 'node:net';
import type {Duplex} from 'node:stream';
import {statusAnswer, type ErrorCode, type HttpAnswer} from '../http/errors';
import {BurstLog} from '../ops/burst-log';
import type {LogFields, Logger} from '../ops/log';
import {LINGER} from './linger';

/** The refusal codes answered here: the JSON error's code and the `nsm_injector_refusals_total` label. */
export const CLIENT_ERROR_CODES = ['malformed-request', 'headers-too-large', 'request-timeout'] as const satisfies readonly ErrorCode[];
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export interface ClientErrorRefusal {
  readonly code: ClientErrorCode;
  readonly answer: HttpAnswer;
  /** What was refused, for the log line: node's error code and its reason (never the client's bytes). */
  readonly fields: LogFields;
}

/** The server's limits, named in the messages of the refusals they cause. */
export interface ServerLimits {
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  /** 0: no limit on the whole request. */
  readonly requestTimeoutMs: number;
}

/** What node hands to 'clientError': a parser error (`HPE_*`, with its `reason`), its request timeout, or a socket error. */
export interface ClientError {
  readonly code?: string | undefined;
  readonly reason?: string | undefined;
  readonly message: string;
}

/** node's codes for how long a body is and where it ends (RFC 9112, section 6). */
const FRAMING_ERRORS: ReadonlySet<string> = new Set(['HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_CONTENT_LENGTH', 'HPE_INVALID_TRANSFER_ENCODING']);

/** llhttp's reasons that say less than they could. */
const PLAIN_REASONS: Readonly<Record<string, string>> = {
  HPE_INVALID_EOF_STATE: 'the client ended its side of the connection in the middle of a request',
  HPE_PAUSED_H2_UPGRADE: 'HTTP/2 without TLS (the "PRI * HTTP/2.0" preface) is not served here; speak HTTP/1.1',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "chunk extensions larger than node's HTTP parser accepts",
};

/** Which framing rule was broken; llhttp reports Content-Length with Transfer-Encoding under either header's code. */
function framingRule(code: string, reason: string): string {
  if (reason.includes('Content-Length') && reason.includes('Transfer-Encoding')) return 'Content-Length and Transfer-Encoding together';
  return code === 'HPE_INVALID_TRANSFER_ENCODING' ? 'an invalid Transfer-Encoding' : 'a duplicate or invalid Content-Length';
}

function malformedMessage(code: string, reason: string): string {
  if (FRAMING_ERRORS.has(code)) {
    return `malformed request framing: ${framingRule(code, reason)} (node's HTTP parser: ${reason}); a request body comes with one Content-Length of decimal digits, as the kube-apiserver sends it`;
  }
  return `malformed HTTP/1.1 request: ${PLAIN_REASONS[code] ?? reason} (node's HTTP parser: ${code})`;
}

const seconds = (ms: number): string => `${ms / 1000} s`;

function refusal(code: ClientErrorCode, message: string, fields: LogFields): ClientErrorRefusal {
  return {code, answer: statusAnswer(code, message), fields: {code, ...fields}};
}

/** The answer to what node reports to 'clientError', or undefined when there is no one to answer (the connection failed). */
export function clientErrorRefusal(error: ClientError, limits: ServerLimits): ClientErrorRefusal | undefined {
  const nodeError = error.code ?? '';
  const reason = error.reason ?? error.message;
  const fields = {nodeError, reason};
  if (nodeError === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const whole = limits.requestTimeoutMs > 0 ? `, the whole request within ${seconds(limits.requestTimeoutMs)}` : '';
    return refusal('request-timeout', `the request did not arrive in time: its headers must arrive within ${seconds(limits.headersTimeoutMs)}${whole}`, fields);
  }
  // ECONNRESET, EPIPE, a TLS record error: the connection is gone or broken, whatever was sent.
  if (!nodeError.startsWith('HPE_')) return undefined;
  if (nodeError === 'HPE_HEADER_OVERFLOW') {
    return refusal('headers-too-large', `the request line and headers are over ${limits.maxHeaderBytes} bytes, the most this server reads`, fields);
  }
  return refusal('malformed-request', malformedMessage(nodeError, reason), fields);
}

/** node's `requireHostHeader` check (RFC 9112, section 3.2), done by us so that the 400 says why. */
export function hostRefusal(request: {readonly httpVersion: string; readonly headers: IncomingHttpHeaders}): ClientErrorRefusal | undefined {
  if (request.httpVersion !== '1.1' || request.headers.host !== undefined) return undefined;
  return refusal('malformed-request', 'an HTTP/1.1 request must carry a Host header (RFC 9112, section 3.2)', {reason: 'no Host header'});
}

/** A whole HTTP/1.1 response, for a socket no ServerResponse writes to. */
export function rawResponse(answer: HttpAnswer): string {
  const headers: Record<string, string> = {...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)), connection: 'close'};
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n${lines.join('')}\r\n${answer.body}`;
}

/**
 * node's own test before its default answer: the socket still takes writes, and no response on it
 * has begun (a pipelined request's error must not land inside the previous request's answer).
 * `_httpMessage`, the response being written on the socket, is node's internal field; were it gone,
 * only that rare pipelined case would go unguarded.
 */
function answerable(socket: Duplex): boolean {
  const writing = (socket as {_httpMessage?: {readonly headersSent: boolean} | null})._httpMessage;
  return socket.writable && writing?.headersSent !== true;
}

export interface ClientErrors {
  /** Counts and logs a refusal answered through a ServerResponse (`hostRefusal`'s). */
  refused(refusal: ClientErrorRefusal, socket: Duplex): void;
  /** Logs the open burst's totals (at shutdown). */
  end(): void;
}

export interface ClientErrorOptions {
  readonly logger: Logger;
  /** Counts each refusal answered, e.g. in metrics. */
  readonly onRefusal?: ((code: ErrorCode) => void) | undefined;
}

/** Answers `server`'s client errors (replacing node's empty answers); keep-alive and good requests are untouched. */
export function answerClientErrors(server: Server, options: ClientErrorOptions): ClientErrors {
  // Scanners and broken clients come in floods: one line per burst, every refusal counted.
  const burst = new BurstLog({
    logger: options.logger,
    level: 'warn',
    kinds: CLIENT_ERROR_CODES,
    started: 'malformed request refused; more are counted, and summed up when this burst ends',
    ended: 'malformed requests refused in this burst',
  });
  const refused = (refusal: ClientErrorRefusal, socket: Duplex): void => {
    options.onRefusal?.(refusal.code);
    burst.note(refusal.code, {...refusal.fields, remoteAddress: (socket as Partial<Socket>).remoteAddress});
  };
  /** Answered sockets, with the bytes dropped since. */
  const lingering = new WeakMap<Duplex, {dropped: number}>();

  server.on('clientError', (error: Error, socket: Duplex) => {
    const failure = error as Error & ClientError & {readonly rawPacket?: Buffer};
    const linger = lingering.get(socket);
    if (linger !== undefined) {
      // Once failed, node's parser reports each later chunk as the same error: these are the bytes
      // dropped while the answer reaches the client (the same bound as linger.ts).
      linger.dropped += failure.rawPacket?.length ?? 0;
      if (linger.dropped > LINGER.bytes) socket.destroy();
      return;
    }
    const answer = clientErrorRefusal(failure, {maxHeaderBytes: maxHeaderSize, headersTimeoutMs: server.headersTimeout, requestTimeoutMs: server.requestTimeout});
    if (answer === undefined || !answerable(socket)) {
      socket.destroy();
      return;
    }
    refused(answer, socket);
    // Answer, half-close, and read (into the failed parser, which drops it) until the client
    // closes, or LINGER.ms or LINGER.bytes: destroying now, with the client's bytes still
    // arriving, would reset the connection and could wipe the answer before the client reads it.
    lingering.set(socket, {dropped: 0});
    socket.end(rawResponse(answer.answer));
    const timer = setTimeout(() => socket.destroy(), LINGER.ms);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  return {refused, end: () => burst.end()};
}
