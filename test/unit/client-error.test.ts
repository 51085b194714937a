/**
 * Answering what node's HTTP parser refuses (https/client-error.ts): the mapping from node's errors
 * to our refusals, and the listener on a real node:http server in this process, for what the entry
 * point tests (test/knative.test.ts, test/https.test.ts) can't set up: a request timeout of a
 * fraction of a second, a response already begun on the connection, a reset, the linger's bound.
 */
import {once} from 'node:events';
import {createServer, request, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import {createServer as createTcpServer, type AddressInfo} from 'node:net';
import {LINGER} from '../../functions/https/linger';
import {answerClientErrors, clientErrorRefusal, hostRefusal, rawResponse, type ClientErrors} from '../../functions/https/client-error';
import type {ErrorCode} from '../../functions/http/errors';
import type {LogFields} from '../../functions/ops/log';
import {eventually, within} from '../support/eventually';
import {parseResponse, plainConnection, sendUntilClosed} from '../support/raw-http';

const LIMITS = {maxHeaderBytes: 16_384, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000};

describe('clientErrorRefusal', () => {
  // node's codes and llhttp's reasons, as node 24 reports them (test/support/malformed-requests.ts sends the requests).
  const cases: Array<[string, string, number, string, string]> = [
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 'Duplicate Content-Length', 400, 'malformed-request', 'malformed request framing: a duplicate or invalid Content-Length (node\'s HTTP parser: Duplicate Content-Length)'],
    ['HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length', 400, 'malformed-request', 'a duplicate or invalid Content-Length'],
    ['HPE_INVALID_CONTENT_LENGTH', "Content-Length can't be present with Transfer-Encoding", 400, 'malformed-request', 'Content-Length and Transfer-Encoding together'],
    ['HPE_INVALID_TRANSFER_ENCODING', "Transfer-Encoding can't be present with Content-Length", 400, 'malformed-request', 'Content-Length and Transfer-Encoding together'],
    ['HPE_INVALID_TRANSFER_ENCODING', 'Invalid `Transfer-Encoding` header value', 400, 'malformed-request', 'an invalid Transfer-Encoding'],
    ['HPE_INVALID_HEADER_TOKEN', 'Invalid header value char', 400, 'malformed-request', "malformed HTTP/1.1 request: Invalid header value char (node's HTTP parser: HPE_INVALID_HEADER_TOKEN)"],
    ['HPE_INVALID_EOF_STATE', 'Invalid EOF state', 400, 'malformed-request', 'the client ended its side of the connection in the middle of a request'],
    ['HPE_PAUSED_H2_UPGRADE', 'Pause on PRI/Upgrade', 400, 'malformed-request', 'speak HTTP/1.1'],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 'Chunk extensions overflow', 400, 'malformed-request', 'chunk extensions larger'],
    ['HPE_HEADER_OVERFLOW', 'Header overflow', 431, 'headers-too-large', 'the request line and headers are over 16384 bytes, the most this server reads'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 'Request timeout', 408, 'request-timeout', 'its headers must arrive within 10 s, the whole request within 30 s'],
  ];
  it.each(cases)('%s (%s): %d %s', (code, reason, status, errorCode, says) => {
    // Parser errors carry llhttp's reason; the timeout is a plain node error with a message.
    const error = code.startsWith('HPE_') ? {code, reason, message: `Parse Error: ${reason}`} : {code, message: reason};
    const refused = clientErrorRefusal(error, LIMITS);
    expect(refused?.code).toBe(errorCode);
    const body = JSON.parse(refused?.answer.body ?? '{}');
    expect(body).toMatchObject({kind: 'Status', apiVersion: 'v1', status: 'Failure', code: status, error: {code: errorCode}});
    expect(body.message).toBe(body.error.message);
    expect(body.message).toContain(says);
    expect(refused?.fields).toEqual({code: errorCode, nodeError: code, reason});
  });

  it.each(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC', undefined])('%s: the connection failed, nothing to answer', code => {
    expect(clientErrorRefusal({code, message: 'read ECONNRESET'}, LIMITS)).toBeUndefined();
  });

  it('a server without a limit on the whole request says only what its headers must do', () => {
    expect(clientErrorRefusal({code: 'ERR_HTTP_REQUEST_TIMEOUT', message: 'Request timeout'}, {...LIMITS, requestTimeoutMs: 0})?.answer.body).toContain('must arrive within 10 s"');
  });
});

describe('hostRefusal', () => {
  it('refuses HTTP/1.1 without Host, and nothing else', () => {
    expect(hostRefusal({httpVersion: '1.1', headers: {}})).toMatchObject({code: 'malformed-request', answer: {status: 400}});
    expect(hostRefusal({httpVersion: '1.1', headers: {}})?.answer.body).toContain('an HTTP/1.1 request must carry a Host header');
    expect(hostRefusal({httpVersion: '1.1', headers: {host: 'nsm-sidecar-injector'}})).toBeUndefined();
    expect(hostRefusal({httpVersion: '1.1', headers: {host: ''}})).toBeUndefined();
    expect(hostRefusal({httpVersion: '1.0', headers: {}})).toBeUndefined();
  });
});

describe('rawResponse', () => {
  it("is read by node's HTTP client as the answer it holds, with Connection: close", async () => {
    const answer = clientErrorRefusal({code: 'HPE_HEADER_OVERFLOW', reason: 'Header overflow', message: ''}, LIMITS)!.answer;
    const tcp = createTcpServer(socket => socket.end(rawResponse(answer)));
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => request({port: (tcp.address() as AddressInfo).port, host: '127.0.0.1'}, resolve).on('error', reject).end());
      let body = '';
      for await (const chunk of res) body += String(chunk);
      expect([res.statusCode, res.statusMessage, res.headers['connection'], res.headers['content-type'], body]).toEqual([431, 'Request Header Fields Too Large', 'close', answer.headers['content-type'], answer.body]);
    } finally {
      tcp.close();
    }
  });
});

/** A node:http server in this process with our listener, what it counted and logged, and node's errors as they came. */
interface Served {
  readonly server: Server;
  readonly port: number;
  readonly clientErrors: ClientErrors;
  readonly counted: ErrorCode[];
  readonly logged: Array<{message: string; fields: LogFields | undefined}>;
  readonly nodeErrors: string[];
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(options: Parameters<typeof createServer>[0], listener: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('ok')): Promise<Served> {
  const server = createServer(options, listener);
  servers.push(server);
  const counted: ErrorCode[] = [];
  const logged: Served['logged'] = [];
  const nodeErrors: string[] = [];
  server.on('clientError', (error: NodeJS.ErrnoException) => nodeErrors.push(error.code ?? error.message));
  const clientErrors = answerClientErrors(server, {logger: {log: (_level, message, fields) => logged.push({message, fields})}, onRefusal: code => counted.push(code)});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {server, port: (server.address() as AddressInfo).port, clientErrors, counted, logged, nodeErrors};
}

describe('answerClientErrors on a real server', () => {
  it('a request not received in time: 408 naming the limits, counted', async () => {
    const served = await serve({headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50});
    const {socket, received, closed} = await plainConnection(served.port);
    socket.write('POST /mutate HTTP/1.1\r\nHost: nsm-sidecar-injector\r\n'); // and never the rest
    await within(closed, 5_000, 'the 408 and the close');
    const response = parseResponse(received());
    expect(response.status).toBe(408);
    expect(response.headers).toContain('connection: close');
    expect(JSON.parse(response.body)).toMatchObject({reason: 'Timeout', code: 408, error: {code: 'request-timeout', message: 'the request did not arrive in time: its headers must arrive within 0.3 s, the whole request within 0.6 s'}});
    expect(served.counted).toEqual(['request-timeout']);
  });

  it("writes nothing into a response already begun on the connection (a pipelined request's error), and counts nothing", async () => {
    const served = await serve({}, (_req, res) => {
      res.writeHead(200, {'content-length': '10'});
      res.write('12345'); // the rest never comes
    });
    const {socket, received, closed} = await plainConnection(served.port);
    socket.write('GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => received().includes('12345'), 'the first answer to begin');
    socket.write('GET /two HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
    await within(closed, 5_000, 'the connection to be closed');
    expect(served.nodeErrors).toEqual(['HPE_UNEXPECTED_CONTENT_LENGTH']);
    expect(received()).toMatch(/12345$/);
    expect(served.counted).toEqual([]);
  });

  it('a connection reset by the client: nothing written, counted or logged', async () => {
    const served = await serve({});
    const accepted = once(served.server, 'connection');
    const {socket} = await plainConnection(served.port);
    await accepted;
    socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{');
    socket.resetAndDestroy();
    await eventually(() => served.nodeErrors.length > 0, "node's error");
    expect(served.nodeErrors).toEqual(['ECONNRESET']);
    expect([served.counted, served.logged]).toEqual([[], []]);
  });

  it('logs the first refusal of a burst with its details, the totals once it ends; counts each', async () => {
    const served = await serve({});
    for (const request of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n', `GET / HTTP/1.1\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`]) {
      const {socket, closed} = await plainConnection(served.port);
      socket.write(request);
      await within(closed, 5_000, 'the answer and the close');
    }
    expect(served.counted).toEqual(['malformed-request', 'malformed-request', 'headers-too-large']);
    expect(served.logged).toEqual([
      {
        message: 'malformed request refused; more are counted, and summed up when this burst ends',
        fields: {code: 'malformed-request', nodeError: 'HPE_INVALID_METHOD', reason: 'Invalid method encountered', remoteAddress: '127.0.0.1'},
      },
    ]);
    served.clientErrors.end();
    expect(served.logged[1]).toEqual({message: 'malformed requests refused in this burst', fields: {'malformed-request': 2, 'headers-too-large': 1, 'request-timeout': 0}});
  });

  it('after answering, reads and drops at most LINGER.bytes before closing: a client that keeps sending is cut off', async () => {
    const served = await serve({});
    const total = 64 * 1024 * 1024;
    const connection = await plainConnection(served.port, {allowHalfOpen: true});
    connection.socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\nContent-Length: 67108864\r\n\r\n');
    const sent = await within(sendUntilClosed(connection, total), 10_000, 'the server to close the connection');
    expect(parseResponse(connection.received()).status).toBe(400);
    // LINGER.bytes read, plus what the loopback's socket buffers hold; reading on for LINGER.ms takes all 64 MiB.
    expect(sent).toBeLessThan(LINGER.bytes + 28 * 1024 * 1024);
    expect(served.counted).toEqual(['malformed-request']);
  }, 20_000);
});
