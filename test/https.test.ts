/**
 * The deployment profile's HTTPS entry point (`node dist/functions/https/main.js`) as a process,
 * with real certificates made for the test: what the apiserver sees of it, certificate renewal
 * without a restart, and a drain on SIGTERM.
 *
 * Every child runs with NODE_OPTIONS=--tls-min-v1.0, which lowers node's own default TLS floor: a
 * TLS 1.1 refusal then proves the server's explicit minimum, not node's default.
 */
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import {join} from 'node:path';
import {request} from 'node:https';
import {connect, createServer as createTlsServer, type TLSSocket} from 'node:tls';
import {MAX_BODY_BYTES} from '../functions/http/handler';
import {LINGER} from '../functions/https/linger';
import {annotatedPod, decodePatch, review} from './support/fixtures';
import {KubeletVolume} from './support/kubelet-volume';
import {SERVICE_DNS, TestPki, tlsFiles, type Pem} from './support/tls';
import {eventually, within} from './support/eventually';
import {halfSentReview as sendHalfReview, parseResponse, recorded, sendUntilClosed, type RawConnection} from './support/raw-http';
import {expectBusyPortExit, runToExit, startEntryPoint, type EntryPoint} from './support/process';
import {changes, parseSamples, seriesKey, type Samples} from './support/prom-text';
import {expectCountedAndLoggedOnce, expectEachRefused, expectKeptAlive, MALFORMED_REQUESTS} from './support/malformed-requests';

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));


/** Every child started, so that afterAll kills whatever a failed test left running. */
const started = new Set<EntryPoint>();
afterAll(async () => Promise.all([...started].map(s => s.stop())));

async function startServer(env: Record<string, string>): Promise<EntryPoint> {
  const server = await startEntryPoint('dist/functions/https/main.js', {NODE_OPTIONS: '--tls-min-v1.0', TLS_RELOAD_POLL_SECONDS: '60', ...env});
  started.add(server);
  return server;
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTPS request on a fresh connection, trusting only `ca`, verifying the Service's DNS name. */
function call(port: number, ca: string, options: {method?: string; path?: string; body?: string; client?: Pem} = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        ca,
        servername: SERVICE_DNS,
        agent: false,
        ...(options.client ? {cert: options.client.cert, key: options.client.key} : {}),
        method: options.method ?? 'GET',
        path: options.path ?? '/healthz',
        headers: body ? {'content-type': 'application/json', 'content-length': body.length} : {},
      },
      res => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: text}));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const trusts = async (port: number, ca: Pem): Promise<boolean> => {
  try {
    return (await call(port, ca.cert)).status === 200;
  } catch {
    return false;
  }
};

/** A raw TLS connection, for writing HTTP by hand (partial bodies, huge claims, slow uploads). */
function rawConnection(port: number, ca: string, client?: Pem, allowHalfOpen = false): Promise<RawConnection<TLSSocket>> {
  // allowHalfOpen: honoured by tls.connect (passed to its TLSSocket), though @types/node doesn't list it.
  const options = {host: '127.0.0.1', port, ca, servername: SERVICE_DNS, allowHalfOpen, ...(client ? {cert: client.cert, key: client.key} : {})};
  return recorded(connect(options), 'secureConnect');
}

/** Tries a handshake offering TLS 1.0/1.1 only (and ciphers old enough for them). */
function oldClientHandshake(port: number, ca: string): Promise<string> {
  return new Promise(resolve => {
    const socket = connect({host: '127.0.0.1', port, ca, servername: SERVICE_DNS, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0'}, () => {
      resolve(`connected with ${socket.getProtocol() ?? '?'}`);
      socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const pki = new TestPki();
afterAll(() => pki.remove());

describe('HTTPS entry point', () => {
  const ca1 = pki.ca('test CA one');
  const ca2 = pki.ca('test CA two');
  const ca3 = pki.ca('test CA three');
  const serving1 = pki.leaf(ca1);
  const volume = new KubeletVolume(tlsFiles(serving1, ca1));
  let server: EntryPoint;

  beforeAll(async () => (server = await startServer({TLS_CERT_DIR: volume.dir})), 20_000);
  afterAll(async () => {
    await server?.stop();
    volume.remove();
  });

  it('answers an AdmissionReview at the path the apiserver calls, for the Service name', async () => {
    const sent = review(annotatedPod());
    const reply = await call(server.port, ca1.cert, {method: 'POST', path: '/mutate?timeout=5s', body: JSON.stringify(sent)});
    expect(reply.status).toBe(200);
    const answer = JSON.parse(reply.body) as {kind: string; response: {uid: string; allowed: boolean; patch?: string}};
    expect(answer.kind).toBe('AdmissionReview');
    expect(answer.response.uid).toBe(sent.request.uid);
    expect(answer.response.allowed).toBe(true);
    expect(decodePatch(answer.response.patch).length).toBeGreaterThan(0);
    expect((await call(server.port, ca1.cert, {path: '/readyz'})).status).toBe(200);
  });

  it('refuses TLS below 1.2 (and the test client can speak TLS 1.1 to a server that allows it)', async () => {
    const permissive = createTlsServer({...serving1, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0'}, socket => socket.end());
    permissive.on('tlsClientError', () => {});
    permissive.listen(0, '127.0.0.1');
    await once(permissive, 'listening');
    const address = permissive.address();
    const control = await oldClientHandshake(typeof address === 'object' && address !== null ? address.port : 0, ca1.cert);
    permissive.close();
    expect(control).toBe('connected with TLSv1.1');

    expect(await oldClientHandshake(server.port, ca1.cert)).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it('answers 413 to a Content-Length over the limit without waiting for the body', async () => {
    const {socket, received, closed} = await rawConnection(server.port, ca1.cert);
    socket.write(`POST /mutate HTTP/1.1\r\nHost: ${SERVICE_DNS}\r\nContent-Type: application/json\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`);
    socket.write(`{"apiVersion":"${'x'.repeat(1024)}`); // a sliver of the promised 6 MiB
    await within(closed, 5_000, 'the 413 and the close');
    const response = parseResponse(received());
    expect(response.status).toBe(413);
    expect(response.headers).toContain('connection: close');
    expect(JSON.parse(response.body)).toMatchObject({error: {code: 'body-too-large'}});
  });

  it('after that 413, reads and drops at most LINGER.bytes before closing: a client that keeps sending is cut off', async () => {
    const total = 64 * 1024 * 1024;
    // allowHalfOpen: the client keeps sending after our answer and FIN, as one that writes its whole body first does.
    const connection = await rawConnection(server.port, ca1.cert, undefined, true);
    connection.socket.write(`POST /mutate HTTP/1.1\r\nHost: ${SERVICE_DNS}\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`);
    const sent = await within(sendUntilClosed(connection, total), 10_000, 'the server to close the connection');
    expect(parseResponse(connection.received()).status).toBe(413);
    // LINGER.bytes read, plus what the loopback's socket buffers hold; draining for LINGER.ms takes all 64 MiB.
    expect(sent).toBeLessThan(LINGER.bytes + 28 * 1024 * 1024);
  }, 20_000);

  it('answers 413 instead of 100 Continue to an oversized body announced with Expect: 100-continue', async () => {
    const {socket, received, closed} = await rawConnection(server.port, ca1.cert);
    socket.write(`POST /mutate HTTP/1.1\r\nHost: ${SERVICE_DNS}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`);
    await within(closed, 5_000, 'the 413 and the close');
    expect(received()).not.toContain('100 Continue');
    expect(parseResponse(received()).status).toBe(413);
  });

  it('invites a body of acceptable size announced with Expect: 100-continue, and answers it', async () => {
    const body = JSON.stringify(review(annotatedPod()));
    const {socket, received} = await rawConnection(server.port, ca1.cert);
    socket.write(`POST /mutate HTTP/1.1\r\nHost: ${SERVICE_DNS}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`);
    await eventually(() => received().includes('100 Continue'), 'the 100 Continue');
    socket.write(body);
    await eventually(() => received().includes('"AdmissionReview"'), 'the answer');
    expect(received()).toMatch(/HTTP\/1\.1 200 OK/);
    socket.destroy();
  });

  it('stops reading a streamed (chunked) body at the limit and answers 413 while the client is still sending', async () => {
    const {socket, received, closed} = await rawConnection(server.port, ca1.cert);
    let gone = false;
    void closed.then(() => (gone = true));
    socket.write(`POST /mutate HTTP/1.1\r\nHost: ${SERVICE_DNS}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const cap = 3 * MAX_BODY_BYTES; // a server that buffers until the end of the body never answers before this
    let sent = 0;
    while (received() === '' && !gone && sent < cap) {
      const flowing = socket.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
      sent += chunk.length;
      // Blocked: wait for room, the answer, or the close (a write failing once the server has
      // answered and closed is expected: `once` rejects on the socket's 'error').
      if (!flowing) await Promise.race([once(socket, 'drain').catch(() => {}), closed, eventually(() => received() !== '', 'an answer', 5_000).catch(() => {})]);
    }
    // The terminating chunk was never sent: an answer now can only come from the limit.
    await eventually(() => parseResponse(received()).body.length > 0, 'the whole 413');
    expect(parseResponse(received()).status).toBe(413);
    expect(sent).toBeGreaterThan(MAX_BODY_BYTES / 2);
    expect(sent).toBeLessThan(cap);
    socket.destroy();
  }, 20_000);

  it('counts the four 413s above in the refusals metric (they are answered before the handler)', async () => {
    const metrics = await call(server.port, ca1.cert, {path: '/metrics'});
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^nsm_injector_refusals_total\{code="body-too-large"\} 4$/m);
  });

  it('serves a certificate from a new CA after a kubelet-style ..data swap, without a restart', async () => {
    expect(await trusts(server.port, ca2)).toBe(false);
    volume.update(tlsFiles(pki.leaf(ca2), ca2));
    // Only fs.watch can be this quick: the safety-net poll is set to 60 s here.
    await eventually(() => trusts(server.port, ca2), 'a client trusting only the new CA to connect', 5_000);
    expect(await trusts(server.port, ca1)).toBe(false);
    expect(server.output()).toContain('"TLS certificate reloaded"');
    expect(server.proc.exitCode).toBeNull();
    // The reloaded context kept the TLS floor.
    expect(await oldClientHandshake(server.port, ca2.cert)).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it('keeps the certificate in use when the new pair is invalid', async () => {
    volume.update(tlsFiles(pki.leaf(ca2), ca2));
    await eventually(() => trusts(server.port, ca2), 'a good CA two certificate to be in use');
    const other = pki.leaf(ca3);
    const mismatched = {cert: other.cert, key: pki.leaf(ca3).key};
    volume.update(tlsFiles(mismatched));
    await eventually(() => server.output().includes('is not the key of the certificate'), 'the mismatched pair to be rejected', 5_000);
    volume.update({'tls.crt': 'not a certificate\n', 'tls.key': other.key});
    await eventually(() => server.output().includes('invalid certificate or key'), 'the garbage pair to be rejected', 5_000);
    expect(await trusts(server.port, ca2)).toBe(true);
    expect(await trusts(server.port, ca3)).toBe(false);
    expect(server.output()).toContain('"TLS certificate rejected; the previous one stays in use"');
  });

  it('exits with an error when the folder holds no valid certificate at start', async () => {
    const empty = new KubeletVolume({'tls.crt': serving1.cert, 'tls.key': pki.leaf(ca1).key});
    try {
      const proc = spawn(process.execPath, ['dist/functions/https/main.js'], {env: {...process.env, PORT: '0', LOG_LEVEL: 'info', TLS_CERT_DIR: empty.dir}, stdio: ['ignore', 'pipe', 'pipe']});
      let output = '';
      proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      const [code] = (await within(once(proc, 'exit'), 5_000, 'the server to give up')) as [number | null];
      expect(code).toBe(1);
      expect(output).toContain('"no valid TLS certificate"');
    } finally {
      empty.remove();
    }
  });

  it('a busy port: one error line naming the port, exit status 1, no stack trace and no "started"', async () => {
    // The running server's port is taken; the certificate is good (the tests above swapped the shared one).
    const good = new KubeletVolume(tlsFiles(serving1, ca1));
    const exit = await runToExit('dist/functions/https/main.js', {PORT: String(server.port), TLS_CERT_DIR: good.dir}, 10_000).finally(() => good.remove());
    expectBusyPortExit(exit, server.port);
  });
});

describe("HTTPS entry point: what node's HTTP parser refuses gets a Status that names the problem", () => {
  const ca = pki.ca('malformed requests CA');
  const volume = new KubeletVolume(tlsFiles(pki.leaf(ca), ca));
  let server: EntryPoint;

  beforeAll(async () => (server = await startServer({TLS_CERT_DIR: volume.dir})), 20_000);
  afterAll(async () => {
    await server?.stop();
    volume.remove();
  });

  it.each(MALFORMED_REQUESTS)('$name: $status $code over TLS, and the connection closed', async malformed => {
    await expectEachRefused(allowHalfOpen => rawConnection(server.port, ca.cert, undefined, allowHalfOpen), malformed);
  });

  it('counts each in nsm_injector_refusals_total, logs the first of the burst, and lives on', async () => {
    expectCountedAndLoggedOnce((await call(server.port, ca.cert, {path: '/metrics'})).body, server.output());
    expect(server.proc.exitCode).toBeNull();
  });

  it('keep-alive is unchanged for good requests: three on one connection, each answered, none closing it', async () => {
    await expectKeptAlive(await rawConnection(server.port, ca.cert));
  });
});

describe('HTTPS entry point with client certificates (CLIENT_CA_FILE)', () => {
  const servingCa = pki.ca('mtls serving CA');
  const tlsVolume = new KubeletVolume(tlsFiles(pki.leaf(servingCa)));
  const clientCa = pki.ca('mtls client CA');
  const nextCa = pki.ca('mtls next client CA');
  const apiserver = pki.client(clientCa, 'kube-apiserver-admission');
  const caVolume = new KubeletVolume({'ca.crt': clientCa.cert});
  const env = {TLS_CERT_DIR: tlsVolume.dir, CLIENT_CA_FILE: join(caVolume.dir, 'ca.crt'), CLIENT_ALLOWED_NAMES: 'kube-apiserver-admission'};
  const reviewBody = JSON.stringify(review(annotatedPod()));
  let server: EntryPoint;

  beforeAll(async () => (server = await startServer(env)), 20_000);
  afterAll(async () => {
    await server?.stop();
    tlsVolume.remove();
    caVolume.remove();
  });

  const metrics = async (port: number): Promise<Samples> => parseSamples((await call(port, servingCa.cert, {path: '/metrics'})).body);
  const refusals = (samples: Samples, code: string): number => samples.get(seriesKey('nsm_injector_refusals_total', {code})) ?? 0;
  const errorCode = (reply: Reply): string => (JSON.parse(reply.body) as {error: {code: string}}).error.code;

  it('answers reviews from the allowed caller, and health and metrics reads from anyone', async () => {
    const answer = await call(server.port, servingCa.cert, {method: 'POST', path: '/mutate', body: reviewBody, client: apiserver});
    expect(answer.status).toBe(200);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      for (const method of ['GET', 'HEAD']) expect([method, path, (await call(server.port, servingCa.cert, {method, path})).status]).toEqual([method, path, 200]);
    }
  });

  it('refuses everything else without a certificate, before routing: a 401 that is also a Kubernetes Status', async () => {
    for (const [method, path] of [['POST', '/mutate'], ['POST', '/'], ['POST', '/healthz'], ['GET', '/mutate'], ['GET', '/nowhere']] as const) {
      const reply = await call(server.port, servingCa.cert, {method, path, ...(method === 'POST' ? {body: reviewBody} : {})});
      expect([method, path, reply.status, errorCode(reply), reply.headers['connection']]).toEqual([method, path, 401, 'no-client-certificate', 'close']);
    }
    const body = JSON.parse((await call(server.port, servingCa.cert, {method: 'POST', path: '/mutate', body: reviewBody})).body) as Record<string, unknown>;
    // What the apiserver decodes, to log our message instead of a generic one (test/e2e/mtls.e2e.test.ts).
    expect(body).toMatchObject({kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401, message: expect.stringContaining('client certificate is required')});
  });

  it('refuses an unauthenticated upload announced with Expect: 100-continue before it is sent', async () => {
    const {socket, received, closed} = await rawConnection(server.port, servingCa.cert);
    socket.write(`POST /mutate HTTP/1.1\r\nHost: ${SERVICE_DNS}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${MAX_BODY_BYTES}\r\n\r\n`);
    await within(closed, 5_000, 'the 401 and the close');
    expect(received()).not.toContain('100 Continue');
    expect(parseResponse(received()).status).toBe(401);
  });

  it('tells a name not allowed (403) from a CA not trusted and a certificate not for clients (401), and counts each', async () => {
    const before = await metrics(server.port);
    const callers: Array<[Pem, number, string]> = [
      [pki.client(clientCa, 'someone-else'), 403, 'client-name-not-allowed'],
      [pki.client(nextCa, 'kube-apiserver-admission'), 401, 'unknown-client-ca'],
      [pki.leaf(clientCa, ['kube-apiserver-admission']), 401, 'invalid-client-certificate'], // serverAuth only
    ];
    for (const [client, status, code] of callers) {
      const reply = await call(server.port, servingCa.cert, {method: 'POST', path: '/mutate', body: reviewBody, client});
      expect([reply.status, errorCode(reply)]).toEqual([status, code]);
    }
    const moved = changes(before, await metrics(server.port));
    expect(moved).toEqual({
      [seriesKey('nsm_injector_refusals_total', {code: 'client-name-not-allowed'})]: 1,
      [seriesKey('nsm_injector_refusals_total', {code: 'unknown-client-ca'})]: 1,
      [seriesKey('nsm_injector_refusals_total', {code: 'invalid-client-certificate'})]: 1,
    });
  });

  it('a resumed TLS session keeps the verdict of the handshake that made it', async () => {
    const session = async (client?: Pem): Promise<Buffer> => {
      const {socket} = await rawConnection(server.port, servingCa.cert, client);
      // TLS 1.3 sends its ticket after the handshake: wait for it.
      const [ticket] = (await within(once(socket, 'session'), 5_000, 'a session ticket')) as [Buffer];
      socket.destroy();
      return ticket;
    };
    const ask = async (ticket: Buffer): Promise<{reused: boolean; status: number}> => {
      const socket = connect({host: '127.0.0.1', port: server.port, ca: servingCa.cert, servername: SERVICE_DNS, session: ticket});
      await once(socket, 'secureConnect');
      const reused = socket.isSessionReused();
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.write(`POST /mutate HTTP/1.1\r\nHost: ${SERVICE_DNS}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(reviewBody)}\r\nConnection: close\r\n\r\n${reviewBody}`);
      await within(once(socket, 'close'), 5_000, 'the answer');
      return {reused, status: parseResponse(text).status};
    };
    // Resumed without presenting the certificate again: the session remembers it.
    expect(await ask(await session(apiserver))).toEqual({reused: true, status: 200});
    expect(await ask(await session())).toEqual({reused: true, status: 401});
  });

  it('keeps the CA bundle in use when the new one is invalid', async () => {
    try {
      caVolume.update({'ca.crt': apiserver.cert}); // a caller's certificate, not its CA
      await eventually(() => server.output().includes('"client CA bundle rejected; the previous one stays in use"'), 'the bad bundle to be rejected', 5_000);
      expect((await call(server.port, servingCa.cert, {method: 'POST', path: '/mutate', body: reviewBody, client: apiserver})).status).toBe(200);
    } finally {
      caVolume.update({'ca.crt': clientCa.cert});
    }
  });

  it('a new CA bundle applies to new connections; idle ones verified against the old are closed, busy ones after their answer', async () => {
    const request = `POST /mutate HTTP/1.1\r\nHost: ${SERVICE_DNS}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(reviewBody)}\r\n\r\n`;
    const idle = await rawConnection(server.port, servingCa.cert, apiserver);
    idle.socket.write(request + reviewBody);
    await eventually(() => parseResponse(idle.received()).body.length > 0, 'the first answer');
    expect(parseResponse(idle.received()).status).toBe(200);
    const busy = await rawConnection(server.port, servingCa.cert, apiserver);
    busy.socket.write(request + reviewBody.slice(0, 100));

    const reloads = (): number => server.output().split('\n').filter(l => l.includes('"client CA bundle reloaded"')).length;
    const before = reloads();
    caVolume.update({'ca.crt': nextCa.cert});
    try {
      await eventually(() => reloads() === before + 1, 'the new bundle to be loaded', 5_000);
      await within(idle.closed, 5_000, 'the idle connection to be closed');
      busy.socket.write(reviewBody.slice(100));
      await within(busy.closed, 5_000, 'the busy connection to be answered and closed');
      expect(parseResponse(busy.received())).toMatchObject({status: 200});
      expect(parseResponse(busy.received()).headers).toContain('connection: close');

      const reply = await call(server.port, servingCa.cert, {method: 'POST', path: '/mutate', body: reviewBody, client: apiserver});
      expect([reply.status, errorCode(reply)]).toEqual([401, 'unknown-client-ca']);
      const fromNext = pki.client(nextCa, 'kube-apiserver-admission');
      expect((await call(server.port, servingCa.cert, {method: 'POST', path: '/mutate', body: reviewBody, client: fromNext})).status).toBe(200);
      expect(server.proc.exitCode).toBeNull();
    } finally {
      caVolume.update({'ca.crt': clientCa.cert});
    }
  });

  it('counts every refusal but logs a flood of them once, with the totals at shutdown', async () => {
    const ownCa = new KubeletVolume({'ca.crt': clientCa.cert});
    const own = await startServer({...env, CLIENT_CA_FILE: join(ownCa.dir, 'ca.crt'), SHUTDOWN_GRACE_SECONDS: '2'});
    try {
      const stranger = pki.client(nextCa, 'kube-apiserver-admission');
      await Promise.all(Array.from({length: 40}, (_, i) => call(own.port, servingCa.cert, {method: 'POST', path: '/mutate', body: '{}', ...(i % 4 === 0 ? {client: stranger} : {})})));
      const samples = await metrics(own.port);
      expect([refusals(samples, 'no-client-certificate'), refusals(samples, 'unknown-client-ca')]).toEqual([30, 10]);
      const lines = (): Array<Record<string, unknown>> => own.output().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>);
      expect(lines().filter(l => String(l['message']).startsWith('caller refused'))).toHaveLength(1);
      own.proc.kill('SIGTERM');
      expect(await within(own.exited, 10_000, 'the server to exit')).toBe(0);
      expect(lines().filter(l => l['message'] === 'callers refused in this burst')).toEqual([
        expect.objectContaining({'no-client-certificate': 30, 'unknown-client-ca': 10, 'invalid-client-certificate': 0, 'client-name-not-allowed': 0}),
      ]);
    } finally {
      await own.stop();
      ownCa.remove();
    }
  }, 20_000);

  it('exits with an error when CLIENT_CA_FILE holds no valid bundle at start, or names come without it', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{...env, CLIENT_CA_FILE: join(tlsVolume.dir, 'tls.key')}, '"no valid client CA bundle"'],
      [{...env, CLIENT_CA_FILE: join(caVolume.dir, 'missing.crt')}, 'cannot read'],
      [{TLS_CERT_DIR: tlsVolume.dir, CLIENT_ALLOWED_NAMES: 'kube-apiserver-admission'}, 'CLIENT_ALLOWED_NAMES needs CLIENT_CA_FILE'],
    ];
    for (const [caseEnv, message] of cases) {
      const proc = spawn(process.execPath, ['dist/functions/https/main.js'], {env: {...process.env, PORT: '0', LOG_LEVEL: 'info', ...caseEnv}, stdio: ['ignore', 'pipe', 'pipe']});
      let output = '';
      proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      const [code] = (await within(once(proc, 'exit'), 5_000, 'the server to give up')) as [number | null];
      expect([code, output]).toEqual([1, expect.stringContaining(message)]);
    }
  });
});

describe('HTTPS entry point on SIGTERM', () => {
  const ca = pki.ca('drain CA');
  const volume = new KubeletVolume(tlsFiles(pki.leaf(ca)));
  afterAll(() => volume.remove());

  /** Headers and half the body of a review, on a connection of its own: a request in flight. */
  async function halfSentReview(port: number): Promise<RawConnection<TLSSocket> & {finish: () => void; uid: string}> {
    const connection = await rawConnection(port, ca.cert);
    return {...connection, ...sendHalfReview(connection, SERVICE_DNS)};
  }

  it('stops accepting connections, lets the request in flight complete, then exits 0', async () => {
    const server = await startServer({TLS_CERT_DIR: volume.dir, SHUTDOWN_DELAY_SECONDS: '0', SHUTDOWN_GRACE_SECONDS: '10'});
    try {
      const slow = await halfSentReview(server.port);
      await sleep(200); // the server is now reading that body
      server.proc.kill('SIGTERM');
      await eventually(() => server.output().includes('"stopping"'), 'the server to start stopping');
      // New connections are refused while the old request is still open.
      await eventually(async () => {
        try {
          await call(server.port, ca.cert);
          return false;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        }
      }, 'the listener to close');
      expect(server.proc.exitCode).toBeNull();

      slow.finish();
      await within(slow.closed, 5_000, 'the answer'); // the server closes the connection after answering
      const response = parseResponse(slow.received());
      expect(response.status).toBe(200);
      expect(response.headers).toContain('connection: close');
      expect(JSON.parse(response.body)).toMatchObject({kind: 'AdmissionReview', response: {uid: slow.uid, allowed: true}});
      expect(await within(server.exited, 10_000, 'the server to exit')).toBe(0);
      expect(server.output()).toContain('"stopped"');
    } finally {
      await server.stop();
    }
  }, 20_000);

  it('keeps serving for SHUTDOWN_DELAY_SECONDS after SIGTERM (while the endpoint is being removed)', async () => {
    const server = await startServer({TLS_CERT_DIR: volume.dir, SHUTDOWN_DELAY_SECONDS: '1', SHUTDOWN_GRACE_SECONDS: '5'});
    try {
      server.proc.kill('SIGTERM');
      await eventually(() => server.output().includes('"stopping"'), 'the server to start stopping');
      expect((await call(server.port, ca.cert)).status).toBe(200);
      expect(await within(server.exited, 10_000, 'the server to exit')).toBe(0);
    } finally {
      await server.stop();
    }
  }, 20_000);

  it('gives up on a request that never completes after SHUTDOWN_GRACE_SECONDS and exits 1', async () => {
    const server = await startServer({TLS_CERT_DIR: volume.dir, SHUTDOWN_DELAY_SECONDS: '0', SHUTDOWN_GRACE_SECONDS: '1'});
    try {
      const stuck = await halfSentReview(server.port);
      await sleep(200);
      const signalled = Date.now();
      server.proc.kill('SIGTERM');
      expect(await within(server.exited, 5_000, 'the grace period to end')).toBe(1);
      expect(Date.now() - signalled).toBeLessThan(5_000);
      await within(stuck.closed, 2_000, 'the stuck connection to be cut');
      expect(stuck.received()).toBe('');
    } finally {
      await server.stop();
    }
  }, 20_000);
});
