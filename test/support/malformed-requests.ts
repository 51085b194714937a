/**
 * Requests node's HTTP parser (or server) refuses before any request listener runs, written by hand,
 * and what our entry points must answer to each (https/client-error.ts): test/knative.test.ts and
 * test/https.test.ts send every one to the real process.
 */
import type {Socket} from 'node:net';
import type {ClientErrorCode} from '../../functions/https/client-error';
import {eventually, within} from './eventually';
import {annotatedPod, review} from './fixtures';
import {parseSamples, seriesKey} from './prom-text';
import {parseResponse, sendUntilClosed, type RawConnection} from './raw-http';

export interface MalformedRequest {
  readonly name: string;
  readonly request: string;
  /** Body bytes the client goes on sending after `request`, as fast as the server takes them. */
  readonly trailing?: number;
  /** Sent this many times, each on a connection of its own (default 1). */
  readonly times?: number;
  readonly status: number;
  readonly code: ClientErrorCode;
  /** What the message must say: the rule broken, and node's own reason where it has one. */
  readonly names: readonly string[];
}

const post = (...headers: string[]): string =>
  `POST /mutate?timeout=10s HTTP/1.1\r\nHost: nsm-sidecar-injector\r\nContent-Type: application/json\r\n${headers.map(h => `${h}\r\n`).join('')}\r\n`;

const CONTENT_LENGTH = 'a duplicate or invalid Content-Length';
const TOGETHER = 'Content-Length and Transfer-Encoding together';

export const MALFORMED_REQUESTS: readonly MalformedRequest[] = [
  {name: 'two equal Content-Lengths', request: `${post('Content-Length: 2', 'Content-Length: 2')}{}`, status: 400, code: 'malformed-request', names: [CONTENT_LENGTH, 'Duplicate Content-Length']},
  {name: 'two different Content-Lengths', request: `${post('Content-Length: 2', 'Content-Length: 7')}{}`, status: 400, code: 'malformed-request', names: [CONTENT_LENGTH, 'Duplicate Content-Length']},
  {name: 'Content-Length: 2, 2', request: `${post('Content-Length: 2, 2')}{}`, status: 400, code: 'malformed-request', names: [CONTENT_LENGTH, 'Invalid character in Content-Length']},
  {name: 'Content-Length: +2', request: `${post('Content-Length: +2')}{}`, status: 400, code: 'malformed-request', names: [CONTENT_LENGTH, 'Invalid character in Content-Length']},
  {name: 'Content-Length, then Transfer-Encoding', request: `${post('Content-Length: 2', 'Transfer-Encoding: chunked')}2\r\n{}\r\n0\r\n\r\n`, status: 400, code: 'malformed-request', names: [TOGETHER]},
  {name: 'Transfer-Encoding, then Content-Length', request: `${post('Transfer-Encoding: chunked', 'Content-Length: 2')}2\r\n{}\r\n0\r\n\r\n`, status: 400, code: 'malformed-request', names: [TOGETHER]},
  {name: 'Transfer-Encoding: chunked, gzip', request: `${post('Transfer-Encoding: chunked, gzip')}2\r\n{}\r\n0\r\n\r\n`, status: 400, code: 'malformed-request', names: ['an invalid Transfer-Encoding']},
  {name: 'a control character in a header value', request: `${post('Content-Length: 2', 'X-Note: a\u0001b')}{}`, status: 400, code: 'malformed-request', names: ['Invalid header value char', 'HPE_INVALID_HEADER_TOKEN']},
  {name: 'a space before the colon of a header', request: `${post('Content-Length : 2')}{}`, status: 400, code: 'malformed-request', names: ['Invalid header field char', 'HPE_INVALID_HEADER_TOKEN']},
  {name: 'a request line that is no request line', request: 'GARBAGE\r\n\r\n', status: 400, code: 'malformed-request', names: ['Invalid method encountered', 'HPE_INVALID_METHOD']},
  {name: 'HTTP/9.9', request: 'GET /healthz HTTP/9.9\r\nHost: nsm-sidecar-injector\r\n\r\n', status: 400, code: 'malformed-request', names: ['Invalid HTTP version', 'HPE_INVALID_VERSION']},
  {name: 'an HTTP/1.1 request without Host', request: 'GET /healthz HTTP/1.1\r\n\r\n', status: 400, code: 'malformed-request', names: ['must carry a Host header']},
  {name: 'headers over 16 KiB', request: post('Content-Length: 2', `X-Padding: ${'a'.repeat(20_000)}`), status: 431, code: 'headers-too-large', names: ['over 16384 bytes']},
  // A client that writes its whole body before reading: the answer must reach it all the same. A
  // server that closes at once loses it half the time or more (the kernel resets the connection over
  // the bytes still arriving): five in a row catch that.
  {name: 'two Content-Lengths, with 1 MiB of body still being sent', request: post('Content-Length: 1048576', 'Content-Length: 1048576'), trailing: 1024 * 1024, times: 5, status: 400, code: 'malformed-request', names: [CONTENT_LENGTH]},
];

const sent = (code: ClientErrorCode): number => MALFORMED_REQUESTS.filter(r => r.code === code).reduce((sum, r) => sum + (r.times ?? 1), 0);

/** How many refusals of each code the cases above make. */
export const MALFORMED_COUNTS: Readonly<Record<ClientErrorCode, number>> = {
  'malformed-request': sent('malformed-request'),
  'headers-too-large': sent('headers-too-large'),
  'request-timeout': 0,
};

/**
 * Sends `malformed` on a connection of its own (`connect(allowHalfOpen)`) and resolves with the
 * answer once the server has closed the connection. With `trailing`, the client keeps sending after
 * the server's answer and FIN (allowHalfOpen), all of it, reading nothing until then (as a client
 * that writes its whole body before reading does), and only then ends its side and reads: a server
 * that closed while bytes were still arriving has reset the connection, and the answer is lost.
 */
async function sendOnce<S extends Socket>(connect: (allowHalfOpen: boolean) => Promise<RawConnection<S>>, malformed: MalformedRequest): Promise<{status: number; headers: string; body: string}> {
  const connection = await connect(malformed.trailing !== undefined);
  connection.socket.write(malformed.request);
  if (malformed.trailing !== undefined) {
    connection.socket.pause();
    expect(await sendUntilClosed(connection, malformed.trailing)).toBe(malformed.trailing);
    connection.socket.end();
    connection.socket.resume();
  }
  await within(connection.closed, 5_000, 'the answer and the close');
  return parseResponse(connection.received());
}

/** Sends `malformed` `times` times, each on a connection of its own, and checks every answer (expectRefused). */
export async function expectEachRefused<S extends Socket>(connect: (allowHalfOpen: boolean) => Promise<RawConnection<S>>, malformed: MalformedRequest): Promise<void> {
  for (let i = 0; i < (malformed.times ?? 1); i++) expectRefused(await sendOnce(connect, malformed), malformed);
}

/** A whole answer (its Content-Length's worth of body), `Connection: close`, and a Kubernetes Status that is also our `{"error": {code, message}}`. */
function expectRefused(response: {status: number; headers: string; body: string}, malformed: MalformedRequest): void {
  expect(response.status).toBe(malformed.status);
  expect(response.headers).toContain('connection: close');
  expect(response.headers).toContain('content-type: application/json');
  expect(Buffer.byteLength(response.body)).toBe(Number(/^content-length: (\d+)$/m.exec(response.headers)?.[1]));
  const body = JSON.parse(response.body) as {message: string; error: {message: string}};
  expect(body).toMatchObject({kind: 'Status', apiVersion: 'v1', status: 'Failure', code: malformed.status, error: {code: malformed.code}});
  expect(body.error.message).toBe(body.message);
  for (const part of malformed.names) expect(body.message).toContain(part);
}

/**
 * After the cases above, on an entry point that served nothing else malformed: its `/metrics` text
 * counts each, and its `output` holds one "refused" line for the burst (the first case's).
 */
export function expectCountedAndLoggedOnce(metrics: string, output: string): void {
  const samples = parseSamples(metrics);
  const counted = Object.fromEntries(Object.keys(MALFORMED_COUNTS).map(code => [code, samples.get(seriesKey('nsm_injector_refusals_total', {code}))]));
  expect(counted).toEqual(MALFORMED_COUNTS);
  const logged = output
    .split('\n')
    .filter(l => l.includes('"malformed request refused; '))
    .map(l => JSON.parse(l) as Record<string, unknown>);
  expect(logged).toEqual([expect.objectContaining({severity: 'WARNING', code: 'malformed-request', nodeError: 'HPE_UNEXPECTED_CONTENT_LENGTH', reason: 'Duplicate Content-Length'})]);
}

/** Keep-alive as before for good requests: a review, a probe and a review on one `connection`, each answered, none closing it. */
export async function expectKeptAlive<S extends Socket>(connection: RawConnection<S>): Promise<void> {
  const {socket, received, closed} = connection;
  let gone = false;
  void closed.then(() => (gone = true));
  const body = JSON.stringify(review(annotatedPod()));
  const post = `POST /mutate HTTP/1.1\r\nHost: nsm-sidecar-injector\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const answers = (): number => received().split('HTTP/1.1 200 OK').length - 1;
  socket.write(post);
  await eventually(() => answers() === 1, 'the review answered');
  socket.write('GET /healthz HTTP/1.1\r\nHost: nsm-sidecar-injector\r\n\r\n');
  await eventually(() => answers() === 2, 'the probe answered on the same connection');
  socket.write(post);
  await eventually(() => answers() === 3, 'the second review answered on the same connection');
  expect(gone).toBe(false);
  expect(received().toLowerCase()).not.toContain('connection: close');
  socket.destroy();
}
