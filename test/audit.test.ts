/**
 * Audit CloudEvents against a real HTTP receiver (node:http, decoding with the cloudevents HTTP
 * binding): one well-formed event per non-dry-run decision, and, with the receiver down, failing
 * or hanging, admission answers identical to a sink-less runtime's and never held back, with the
 * losses counted and logged once per burst.
 */
import {CloudEvent, type CloudEventV1} from 'cloudevents';
import type {AdmissionReviewRequest} from '../functions/admission/review';
import type {HttpAnswer} from '../functions/http/errors';
import {DECISION_EVENT_TYPE} from '../functions/ops/audit-event';
import {silentLogger} from '../functions/ops/log';
import {createRuntime, type Runtime} from '../functions/runtime';
import {startReceiver, type CloudEventReceiver} from './support/ce-receiver';
import {annotatedPod, defaultConfig, NSM_ANNOTATION, pod, review} from './support/fixtures';
import {freePort} from './support/process';
import {parseSamples, seriesKey} from './support/prom-text';

const SECRET = 'hunter2-env-value-6c1f0a';
const secretPod = () =>
  pod({
    annotations: {[NSM_ANNOTATION]: 'kernel://icmp-responder/nsm-1'},
    spec: {containers: [{name: 'app', image: 'alpine:3.20', env: [{name: 'DB_PASSWORD', value: SECRET}]}]},
  });

interface Started {
  readonly runtime: Runtime;
  readonly lines: string[];
}

const started: Runtime[] = [];
afterEach(() => {
  for (const runtime of started.splice(0)) runtime.close();
});

function start(env: Record<string, string>): Started {
  const lines: string[] = [];
  const runtime = createRuntime({env: {LOG_LEVEL: 'info', POD_NAMESPACE: 'nsm-system', ...env}, logWrite: line => lines.push(line), watch: false});
  started.push(runtime);
  return {runtime, lines};
}

const send = async (runtime: Runtime, r: AdmissionReviewRequest): Promise<HttpAnswer> =>
  runtime.handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(r))}});

/** The answers a runtime without any sink gives to the same reviews. */
async function answersWithoutSink(reviews: AdmissionReviewRequest[]): Promise<HttpAnswer[]> {
  const plain = createRuntime({env: {}, logger: silentLogger, watch: false});
  started.push(plain);
  const answers: HttpAnswer[] = [];
  for (const r of reviews) answers.push(await send(plain, r));
  return answers;
}

async function eventCounts(runtime: Runtime): Promise<Record<string, number | undefined>> {
  const samples = parseSamples((await runtime.metrics.page()).body);
  const at = (result: string) => samples.get(seriesKey('nsm_injector_cloudevents_total', {result}));
  return {sent: at('sent'), failed: at('failed'), dropped: at('dropped'), queued: samples.get('nsm_injector_cloudevents_queued')};
}

const logged = (lines: string[]) => lines.map(line => JSON.parse(line) as Record<string, unknown>);
const lossStarts = (lines: string[]) => logged(lines).filter(l => String(l['message']).startsWith('audit events are being lost'));
const lossTotals = (lines: string[]) => logged(lines).filter(l => l['message'] === 'audit events lost in this burst');

describe.each(['binary', 'structured'] as const)('a receiver that accepts (%s mode)', mode => {
  let receiver: CloudEventReceiver;
  beforeEach(async () => (receiver = await startReceiver('accept')));
  afterEach(async () => receiver.close());

  it('gets one well-formed event per non-dry-run decision, id = request uid, and none for dry-run', async () => {
    const {runtime, lines} = start({K_SINK: receiver.url, AUDIT_EVENT_MODE: mode});
    const reviews = [
      review(secretPod(), {uid: 'a-inject'}),
      review(pod(), {uid: 'a-skip'}),
      review(annotatedPod(), {uid: 'a-dry', dryRun: true}),
      review(annotatedPod(), {uid: 'a-update', operation: 'UPDATE'}),
      review({apiVersion: 'v1', kind: 'Pod', metadata: {generateName: 'web-7d9f-', namespace: 'apps'}, spec: {containers: [{name: 'a', image: 'x'}]}}, {uid: 'a-gen'}),
    ];
    for (const r of reviews) expect((await send(runtime, r)).status).toBe(200);
    await runtime.audit?.idle();

    expect(receiver.events.map(e => e.id).sort()).toEqual(['a-gen', 'a-inject', 'a-skip', 'a-update']);
    for (const event of receiver.events) {
      // Decoding is lenient; constructing a strict CloudEvent checks the spec's rules.
      expect(() => new CloudEvent({...event})).not.toThrow();
      expect(event).toMatchObject({specversion: '1.0', type: DECISION_EVENT_TYPE, source: '//nsm-sidecar-injector/nsm-system', datacontenttype: 'application/json'});
      expect(Number.isNaN(Date.parse(String(event.time)))).toBe(false);
    }
    const byId = new Map<string, CloudEventV1<unknown>>(receiver.events.map(e => [e.id, e]));
    const injected = byId.get('a-inject');
    expect(injected?.subject).toBe('apps/client');
    expect(injected?.data).toEqual({
      uid: 'a-inject',
      namespace: 'apps',
      name: 'client',
      kind: {group: '', version: 'v1', kind: 'Pod'},
      operation: 'CREATE',
      outcome: 'injected',
      requestedBy: 'pod',
      injected: {initContainers: ['cmd-nsc-init'], containers: ['cmd-nsc'], volumes: ['spire-agent-socket', 'nsm-socket']},
      warnings: [],
      configHash: defaultConfig().hash,
      dryRun: false,
      durationSeconds: expect.any(Number),
    });
    expect(byId.get('a-skip')?.data).toMatchObject({outcome: 'skipped', reason: 'not-requested', dryRun: false});
    expect(byId.get('a-update')?.data).toMatchObject({outcome: 'skipped', reason: 'not-create', operation: 'UPDATE'});
    expect(byId.get('a-gen')?.subject).toBe('apps/web-7d9f-');

    const first = receiver.requests[0];
    if (mode === 'binary') expect(first?.headers).toMatchObject({'ce-specversion': '1.0', 'content-type': expect.stringContaining('application/json')});
    else expect(first?.headers['content-type']).toContain('application/cloudevents+json');

    expect(await eventCounts(runtime)).toEqual({sent: 4, failed: 0, dropped: 0, queued: 0});
    // The pod's env value went nowhere: not in any event (headers or body), not in any log line.
    expect(JSON.stringify(receiver.requests)).not.toContain(SECRET);
    expect(lines.join('')).not.toContain(SECRET);
    expect(lossStarts(lines)).toEqual([]);
  });
});

describe('a receiver that is down (connection refused)', () => {
  it('changes no answer; every event counts as failed; one log line when the losses start, one with the totals', async () => {
    const port = await freePort();
    const {runtime, lines} = start({K_SINK: `http://127.0.0.1:${port}/`});
    const reviews = [review(annotatedPod(), {uid: 'd-1'}), review(pod(), {uid: 'd-2'}), review(secretPod(), {uid: 'd-3'})];
    const answers: HttpAnswer[] = [];
    for (const r of reviews) answers.push(await send(runtime, r));
    expect(answers).toEqual(await answersWithoutSink(reviews));

    await runtime.audit?.idle();
    expect(await eventCounts(runtime)).toEqual({sent: 0, failed: 3, dropped: 0, queued: 0});
    expect(lossStarts(lines)).toEqual([expect.objectContaining({severity: 'WARNING', result: 'failed', cause: expect.stringContaining('ECONNREFUSED')})]);
    runtime.close();
    expect(lossTotals(lines)).toEqual([expect.objectContaining({failed: 3, dropped: 0})]);
    expect(lines.join('')).not.toContain(SECRET);
  });
});

describe('a receiver that answers 500', () => {
  let receiver: CloudEventReceiver;
  beforeEach(async () => (receiver = await startReceiver('fail')));
  afterEach(async () => receiver.close());

  it('counts a non-2xx answer as failed, not sent', async () => {
    const {runtime, lines} = start({K_SINK: receiver.url});
    await send(runtime, review(annotatedPod(), {uid: 'f-1'}));
    await send(runtime, review(annotatedPod(), {uid: 'f-2'}));
    await runtime.audit?.idle();
    expect(receiver.requests).toHaveLength(2);
    expect(await eventCounts(runtime)).toEqual({sent: 0, failed: 2, dropped: 0, queued: 0});
    expect(lossStarts(lines)).toEqual([expect.objectContaining({cause: 'the sink answered HTTP 500'})]);
  });
});

describe('a receiver that hangs', () => {
  let receiver: CloudEventReceiver;
  beforeEach(async () => (receiver = await startReceiver('hang')));
  afterEach(async () => receiver.close());

  it('answers every review while the sink still holds the first event; the full queue drops, the deadline fails', async () => {
    const {runtime, lines} = start({K_SINK: receiver.url, AUDIT_CONCURRENCY: '1', AUDIT_QUEUE_SIZE: '2', AUDIT_TIMEOUT_MS: '200'});
    const reviews = ['h-1', 'h-2', 'h-3', 'h-4', 'h-5'].map(uid => review(annotatedPod(), {uid}));
    const answers: HttpAnswer[] = [await send(runtime, reviews[0] ?? review(pod()))];
    await receiver.received(1);
    for (const r of reviews.slice(1)) answers.push(await send(runtime, r));
    // Every answer is in hand and the receiver has still not answered the first event.
    expect(receiver.pending()).toBe(1);
    expect(receiver.answered()).toBe(0);
    expect(answers).toEqual(await answersWithoutSink(reviews));
    // h-1 is being sent, h-2 and h-3 wait, h-4 and h-5 found the queue full.
    expect(await eventCounts(runtime)).toEqual({sent: 0, failed: 0, dropped: 2, queued: 2});

    // Each waiting event then gets its turn and its deadline.
    await runtime.audit?.idle();
    expect(receiver.requests).toHaveLength(3);
    expect(await eventCounts(runtime)).toEqual({sent: 0, failed: 3, dropped: 2, queued: 0});
    expect(lossStarts(lines)).toHaveLength(1);
    runtime.close();
    expect(lossTotals(lines)).toEqual([expect.objectContaining({failed: 3, dropped: 2})]);
  });

  it('on close, counts the event being sent as failed and the waiting ones as dropped', async () => {
    const {runtime} = start({K_SINK: receiver.url, AUDIT_CONCURRENCY: '1', AUDIT_TIMEOUT_MS: '60000'});
    for (const uid of ['c-1', 'c-2', 'c-3']) await send(runtime, review(annotatedPod(), {uid}));
    await receiver.received(1);
    runtime.close();
    expect(await eventCounts(runtime)).toEqual({sent: 0, failed: 1, dropped: 2, queued: 0});
  });
});

describe('settings', () => {
  it('sends nothing and has no audit trail without K_SINK', () => {
    const {runtime} = start({});
    expect(runtime.audit).toBeUndefined();
  });

  it.each([
    ['not a URL', 'nope'],
    ['not http', 'ftp://sink.example/'],
  ])('turns audit events off, saying so, when K_SINK is %s', (_what, sink) => {
    const {runtime, lines} = start({K_SINK: sink});
    expect(runtime.audit).toBeUndefined();
    expect(logged(lines)).toContainEqual(expect.objectContaining({severity: 'ERROR', message: expect.stringContaining('K_SINK')}));
  });

  it('uses AUDIT_EVENT_SOURCE and the K_CE_OVERRIDES extensions, and logs the sink without its credentials', async () => {
    const receiver = await startReceiver('accept');
    try {
      const sink = receiver.url.replace('http://', 'http://user:pa55word@');
      const {runtime, lines} = start({K_SINK: sink, AUDIT_EVENT_SOURCE: '//cluster-7/nsm-sidecar-injector', K_CE_OVERRIDES: '{"extensions":{"cluster":"c7","Bad-Name":"x"}}'});
      await send(runtime, review(annotatedPod(), {uid: 's-1'}));
      await runtime.audit?.idle();
      expect(receiver.events).toEqual([expect.objectContaining({id: 's-1', source: '//cluster-7/nsm-sidecar-injector', cluster: 'c7'})]);
      runtime.started({port: 8080, protocol: 'http'});
      expect(lines.join('')).not.toContain('pa55word');
      expect(logged(lines)).toContainEqual(expect.objectContaining({message: 'nsm-sidecar-injector started', auditSink: receiver.url}));
    } finally {
      await receiver.close();
    }
  });
});
