/**
 * The knative profile's entry point (`node dist/functions/knative/main.js`) as a process: the gate
 * in front of functions-framework's app refuses what the framework's body parser would read whole
 * or inflate, before reading it, and the process's memory shows it never held it; everything else
 * is answered exactly as `functions-framework --target=mutate` (npm start) answers it; SIGTERM drains.
 *
 * Memory is read from the child's /proc/PID/status: its peak resident set (VmHWM), reset just before
 * each request by writing 5 to /proc/PID/clear_refs (Linux >= 4.0; allowed for our own child), so
 * the figure is the peak during that request, however briefly it was held.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {once} from 'node:events';
import {constants, createBrotliCompress, gzipSync} from 'node:zlib';
import {MAX_BODY_BYTES} from '../functions/http/handler';
import {LINGER} from '../functions/https/linger';
import {annotatedPod, decodePatch, pod, review} from './support/fixtures';
import {eventually, within} from './support/eventually';
import {expectBusyPortExit, runToExit, startEntryPoint, startFunction, type EntryPoint, type RunningFunction} from './support/process';
import {halfSentReview, parseResponse, plainConnection, sendUntilClosed} from './support/raw-http';
import {parseSamples, seriesKey} from './support/prom-text';
import {expectCountedAndLoggedOnce, expectEachRefused, expectKeptAlive, MALFORMED_REQUESTS} from './support/malformed-requests';

const ENTRY = 'dist/functions/knative/main.js';
const MIB = 1024 * 1024;
const HUGE = 20 * MIB;
/**
 * The most a refused request may add to the process's peak RSS. Reading a 20 MiB body costs at least
 * 20 MiB (functions-framework's parser keeps it, then concatenates it: 40 measured here); inflating
 * a bomb, its inflated size. What a refusal costs is the lingering read of at most LINGER.bytes
 * (4 MiB), in chunks freed as they come.
 */
const PEAK_GROWTH_CEILING = 8 * MIB;
/** manifests/knative/service.yaml's memory limit: past it, the kubelet kills the pod. */
const POD_MEMORY_LIMIT = 256 * MIB;

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

interface Memory {
  /** The peak resident set while `during` ran. */
  readonly peak: number;
  /** How far that peak rose above the resident set at the start. */
  readonly growth: number;
}

async function memoryDuring(pid: number, during: () => Promise<void>): Promise<Memory> {
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // the peak (VmHWM) := the current resident set
  const before = statusField(pid, 'VmRSS');
  await during();
  const peak = statusField(pid, 'VmHWM');
  return {peak, growth: peak - before};
}

/**
 * Both: the growth alone can hide a body held in pages an earlier request left resident, and the
 * peak alone can't see 20 MiB under the limit.
 */
function expectNothingHeld(memory: Memory): void {
  expect(memory.growth).toBeLessThan(PEAK_GROWTH_CEILING);
  expect(memory.peak).toBeLessThan(POD_MEMORY_LIMIT);
}

/**
 * Sends `head` and then `body` (as fast as the server reads it) on a connection of its own; resolves
 * with the first response once it is complete, after the server has closed the connection (or a
 * lingering period has passed: a server that reads everything and keeps the connection never closes).
 */
async function exchange(port: number, head: string, body: Buffer): Promise<{status: number; headers: string; body: string}> {
  const {socket, received, closed} = await plainConnection(port);
  socket.write(head);
  socket.write(body);
  const complete = (): boolean => {
    const response = parseResponse(received());
    const length = /^content-length: (\d+)$/m.exec(response.headers)?.[1];
    return length !== undefined && Buffer.byteLength(response.body) >= Number(length);
  };
  await eventually(complete, 'a complete answer', 20_000);
  await Promise.race([closed, sleep(LINGER.ms + 1_000)]);
  socket.destroy();
  return parseResponse(received());
}

const postHead = (headers: Record<string, string | number>): string =>
  `POST /mutate?timeout=10s HTTP/1.1\r\nHost: nsm-sidecar-injector\r\nContent-Type: application/json\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

/** `size` bytes of body in HTTP/1.1 chunks of 64 KiB, with the terminating chunk. */
function chunked(size: number): Buffer {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
  return Buffer.concat([...Array<Buffer>(Math.ceil(size / chunk.length)).fill(framed), Buffer.from('0\r\n\r\n')]);
}

/**
 * Compression bombs that inflate past the pod's 256 Mi memory limit. gzip: 257 members of 1 MiB of
 * zeros each (a gunzip stream inflates concatenated members, as body-parser's does): 257 KiB, deflate
 * can't do better than about 1:1000. br: a few hundred bytes.
 */
const BOMB_BYTES = 257 * MIB;
const gzipBomb = (): Buffer => Buffer.concat(Array<Buffer>(BOMB_BYTES / MIB).fill(gzipSync(Buffer.alloc(MIB))));
async function brotliBomb(): Promise<Buffer> {
  const stream = createBrotliCompress({params: {[constants.BROTLI_PARAM_QUALITY]: 5}});
  const out: Buffer[] = [];
  stream.on('data', (d: Buffer) => out.push(d));
  const zeros = Buffer.alloc(MIB);
  for (let left = BOMB_BYTES; left > 0; left -= zeros.length) if (!stream.write(zeros)) await once(stream, 'drain');
  stream.end();
  await once(stream, 'end');
  return Buffer.concat(out);
}

const started = new Set<EntryPoint>();
afterAll(async () => Promise.all([...started].map(s => s.stop())));
async function startEntry(env: Record<string, string> = {}): Promise<EntryPoint> {
  const entry = await startEntryPoint(ENTRY, env);
  started.add(entry);
  return entry;
}

describe('knative entry point: bodies refused before they are read', () => {
  let entry: EntryPoint;
  beforeAll(async () => (entry = await startEntry()), 30_000);

  it(`a ${HUGE / MIB} MiB body with its Content-Length: 413 at once, the body never held`, async () => {
    let response = {status: 0, headers: '', body: ''};
    const memory = await memoryDuring(entry.proc.pid!, async () => {
      response = await exchange(entry.port, postHead({'Content-Length': HUGE}), Buffer.alloc(HUGE, 'a'));
    });
    expect(response.status).toBe(413);
    expectNothingHeld(memory);
    expect(response.headers).toContain('connection: close');
    expect(JSON.parse(response.body)).toMatchObject({kind: 'Status', reason: 'RequestEntityTooLarge', code: 413, error: {code: 'body-too-large', message: `request body is ${HUGE} bytes; the limit is ${MAX_BODY_BYTES}`}});
  }, 30_000);

  it('after refusing, reads and drops at most LINGER.bytes before closing: a client that keeps sending is cut off', async () => {
    const total = 64 * MIB;
    let sent = 0;
    let answer = '';
    const memory = await memoryDuring(entry.proc.pid!, async () => {
      const connection = await plainConnection(entry.port, {allowHalfOpen: true});
      connection.socket.write(postHead({'Content-Length': total}));
      sent = await within(sendUntilClosed(connection, total), 10_000, 'the server to close the connection');
      answer = connection.received();
    });
    expect(parseResponse(answer).status).toBe(413);
    // What the server read (LINGER.bytes), plus what the loopback's socket buffers hold (a few MiB
    // each way). A server that drains everything for LINGER.ms takes all 64 MiB.
    expect(sent).toBeLessThan(LINGER.bytes + 28 * MIB);
    expectNothingHeld(memory);
  }, 30_000);

  it('the same size announced with Expect: 100-continue: 413 instead of an invitation', async () => {
    const {socket, received, closed} = await plainConnection(entry.port);
    socket.write(postHead({'Content-Length': HUGE, Expect: '100-continue'}));
    await within(closed, 5_000, 'the 413 and the close');
    expect(received()).not.toContain('100 Continue');
    expect(parseResponse(received()).status).toBe(413);
  });

  it('a body of acceptable size announced with Expect: 100-continue is invited and answered', async () => {
    const body = JSON.stringify(review(annotatedPod()));
    const {socket, received} = await plainConnection(entry.port);
    socket.write(postHead({'Content-Length': Buffer.byteLength(body), Expect: '100-continue', Connection: 'close'}));
    await eventually(() => received().includes('100 Continue'), 'the 100 Continue');
    socket.write(body);
    await eventually(() => received().includes('"AdmissionReview"'), 'the answer');
    expect(received()).toMatch(/HTTP\/1\.1 200 OK/);
    socket.destroy();
  });

  it(`a chunked ${HUGE / MIB} MiB body (no Content-Length): 411, the body never held`, async () => {
    let response = {status: 0, headers: '', body: ''};
    const memory = await memoryDuring(entry.proc.pid!, async () => {
      response = await exchange(entry.port, postHead({'Transfer-Encoding': 'chunked'}), chunked(HUGE));
    });
    expect(response.status).toBe(411);
    expectNothingHeld(memory);
    expect(response.headers).toContain('connection: close');
    expect(JSON.parse(response.body)).toMatchObject({kind: 'Status', code: 411, error: {code: 'length-required', message: expect.stringContaining('Content-Length')}});
  }, 30_000);

  it.each([
    ['gzip', gzipBomb],
    ['br', brotliBomb],
  ] as const)(`a %s body inflating to ${BOMB_BYTES / MIB} MiB: 415, never inflated, and the process lives on`, async (encoding, bomb) => {
    const body = await bomb();
    expect(body.length).toBeLessThan(300 * 1024);
    let response = {status: 0, headers: '', body: ''};
    const memory = await memoryDuring(entry.proc.pid!, async () => {
      response = await exchange(entry.port, postHead({'Content-Length': body.length, 'Content-Encoding': encoding}), body);
    });
    expect(response.status).toBe(415);
    expectNothingHeld(memory);
    expect(response.headers).toContain('accept-encoding: identity');
    expect(JSON.parse(response.body)).toMatchObject({kind: 'Status', code: 415, error: {code: 'unsupported-content-encoding'}});
    expect(entry.proc.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${entry.port}/healthz`)).status).toBe(200);
  }, 30_000);

  it('counts each refusal above in nsm_injector_refusals_total and logs it', async () => {
    const samples = parseSamples(await (await fetch(`http://127.0.0.1:${entry.port}/metrics`)).text());
    const refusals = (code: string): number | undefined => samples.get(seriesKey('nsm_injector_refusals_total', {code}));
    expect([refusals('body-too-large'), refusals('length-required'), refusals('unsupported-content-encoding')]).toEqual([3, 1, 2]);
    const logged = entry
      .output()
      .split('\n')
      .filter(l => l.includes('"request refused before reading its body"'))
      .map(l => JSON.parse(l) as {severity: string; code: string; path: string});
    expect(logged.map(l => l.code)).toEqual(['body-too-large', 'body-too-large', 'body-too-large', 'length-required', 'unsupported-content-encoding', 'unsupported-content-encoding']);
    expect(logged.every(l => l.severity === 'WARNING' && l.path === '/mutate')).toBe(true);
  });
});

describe("knative entry point: what node's HTTP parser refuses gets a Status that names the problem", () => {
  let entry: EntryPoint;
  beforeAll(async () => (entry = await startEntry()), 30_000);

  it.each(MALFORMED_REQUESTS)('$name: $status $code, and the connection closed', async malformed => {
    await expectEachRefused(allowHalfOpen => plainConnection(entry.port, {allowHalfOpen}), malformed);
  });

  it('counts each in nsm_injector_refusals_total, logs the first of the burst, and lives on', async () => {
    expectCountedAndLoggedOnce(await (await fetch(`http://127.0.0.1:${entry.port}/metrics`)).text(), entry.output());
    expect(entry.proc.exitCode).toBeNull();
  });

  it('keep-alive is unchanged for good requests: three on one connection, each answered, none closing it', async () => {
    await expectKeptAlive(await plainConnection(entry.port));
  });
});

describe('knative entry point: everything else as functions-framework serves it', () => {
  let entry: EntryPoint;
  let cli: RunningFunction;
  beforeAll(async () => {
    [entry, cli] = await Promise.all([startEntry(), startFunction({LOG_LEVEL: 'info'})]);
  }, 30_000);
  afterAll(async () => cli?.stop());

  const requests: Array<{name: string; path: string; init?: RequestInit}> = [
    {name: 'a review that injects', path: '/mutate?timeout=10s', init: {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(review(annotatedPod()))}},
    {name: 'a v1beta1 review at /', path: '/', init: {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(review(pod(), {apiVersion: 'admission.k8s.io/v1beta1'}))}},
    {name: 'a review that is not one', path: '/mutate', init: {method: 'POST', headers: {'content-type': 'application/json'}, body: '{"hello":"world"}'}},
    {name: "malformed JSON (the framework's parser answers)", path: '/mutate', init: {method: 'POST', headers: {'content-type': 'application/json'}, body: '{"apiVersion":'}},
    {name: 'GET on /mutate', path: '/mutate'},
    {name: 'an unknown path', path: '/nope'},
    {name: "the framework's ignored route", path: '/favicon.ico'},
    {name: 'the health probe', path: '/healthz'},
    {name: 'the readiness probe', path: '/readyz'},
    {name: "NSM's readiness path", path: '/ready'},
    {name: 'a HEAD probe', path: '/healthz', init: {method: 'HEAD'}},
  ];

  const answer = async (base: string, r: (typeof requests)[number]): Promise<{status: number; headers: Record<string, string>; body: string}> => {
    const res = await fetch(`${base}${r.path}`, r.init);
    const headers = Object.fromEntries([...res.headers].filter(([name]) => name !== 'date'));
    return {status: res.status, headers, body: await res.text()};
  };

  it.each(requests)('$name: the same status, headers and body', async r => {
    const [ours, theirs] = await Promise.all([answer(`http://127.0.0.1:${entry.port}`, r), answer(cli.url, r)]);
    expect(ours).toEqual(theirs);
  });

  it('the review gets the patch (and the probes their answers), not just the same answer', async () => {
    const injected = await answer(`http://127.0.0.1:${entry.port}`, requests[0]!);
    expect(injected.status).toBe(200);
    expect(decodePatch((JSON.parse(injected.body) as {response: {patch: string}}).response.patch).length).toBeGreaterThan(0);
    for (const path of ['/healthz', '/readyz', '/ready']) {
      const probe = await fetch(`http://127.0.0.1:${entry.port}${path}`);
      expect([probe.status, await probe.json()]).toEqual([200, {status: 'ok', configHash: expect.any(String)}]);
    }
    const metrics = await fetch(`http://127.0.0.1:${entry.port}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^nsm_injector_requests_total\{kind="Pod",operation="CREATE"\} [1-9]/m);
  });
});

describe('knative entry point: starting and stopping', () => {
  it('says "started" with the port it got; a busy port is one error line and exit status 1', async () => {
    const entry = await startEntry();
    try {
      const line = entry.output().split('\n').find(l => l.includes('"nsm-sidecar-injector started"')) ?? '';
      expect(JSON.parse(line)).toMatchObject({severity: 'INFO', port: entry.port, protocol: 'http'});
      expectBusyPortExit(await runToExit(ENTRY, {PORT: String(entry.port)}, 10_000), entry.port);
    } finally {
      await entry.stop();
    }
  }, 30_000);

  it('a PORT that is no port number: one line naming it, exit status 1', async () => {
    const {code, output} = await runToExit(ENTRY, {PORT: 'eighty'}, 10_000);
    expect(code).toBe(1);
    expect(output).toContain('nsm-sidecar-injector: PORT must be a port number, not "eighty"');
  });

  it('SIGTERM: stops accepting connections, lets the request in flight complete, then exits 0', async () => {
    const entry = await startEntry({SHUTDOWN_GRACE_SECONDS: '10'});
    const connection = await plainConnection(entry.port);
    const slow = halfSentReview(connection, 'nsm-sidecar-injector');
    await sleep(200); // the framework's parser is now reading that body
    entry.proc.kill('SIGTERM');
    await eventually(() => entry.output().includes('"stopping"'), 'the entry point to start stopping');
    await eventually(async () => {
      try {
        await fetch(`http://127.0.0.1:${entry.port}/healthz`);
        return false;
      } catch (error) {
        return ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
      }
    }, 'the listener to close');
    expect(entry.proc.exitCode).toBeNull();

    slow.finish();
    await within(connection.closed, 5_000, 'the answer'); // closed after answering, since draining
    const response = parseResponse(connection.received());
    expect(response.status).toBe(200);
    expect(response.headers).toContain('connection: close');
    expect(JSON.parse(response.body)).toMatchObject({kind: 'AdmissionReview', response: {uid: slow.uid, allowed: true}});
    expect(await within(entry.exited, 10_000, 'the entry point to exit')).toBe(0);
    expect(entry.output()).toContain('"stopped"');
  }, 30_000);

  it('SIGTERM with a request that never completes: cut off after SHUTDOWN_GRACE_SECONDS, exit status 1', async () => {
    const entry = await startEntry({SHUTDOWN_GRACE_SECONDS: '1'});
    const connection = await plainConnection(entry.port);
    halfSentReview(connection, 'nsm-sidecar-injector');
    await sleep(200);
    entry.proc.kill('SIGTERM');
    expect(await within(entry.exited, 5_000, 'the grace period to end')).toBe(1);
    await within(connection.closed, 2_000, 'the stuck connection to be cut');
    expect(connection.received()).toBe('');
  }, 30_000);
});
