/**
 * GET /metrics: the function started through functions-framework (getTestServer), scraped before
 * and after a known mix of reviews and refusals; every counter must move by exactly what was sent.
 * Then the parts the HTTP mix can't reach: config reloads, namespace lookups, the error outcome,
 * and that two runtimes never share counts.
 */
import {getTestServer} from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import {stringify} from 'yaml';
import type {VersionedConfig} from '../functions/core/config';
import {createHandler, type HttpRequest} from '../functions/http/handler';
import type {NamespaceLookup, NamespaceSource} from '../functions/kube/namespaces';
import {silentLogger} from '../functions/ops/log';
import {createMetrics} from '../functions/ops/metrics';
import {createRuntime, type Runtime} from '../functions/runtime';
import {FakeConfigMapVolume} from './support/kubelet-volume';
import {annotatedPod, DEFAULT_CONFIG_TEXT, defaultConfig, NSM_ANNOTATION, pod, review} from './support/fixtures';
import {changes, parseSamples, pick, seriesKey, type Samples} from './support/prom-text';

// Importing the module registers `mutate` with the framework, as `functions-framework --target=mutate` does.
import '../functions/index';

const server = () => request(getTestServer('mutate'));
const P = 'nsm_injector_';

async function scrape(): Promise<Samples> {
  const res = await server().get('/metrics');
  expect(res.status).toBe(200);
  return parseSamples(res.text);
}

const post = (path: string, body: string | object) => server().post(path).send(body);
const deployment = (annotations: Record<string, string>, templateAnnotations: Record<string, string>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {name: 'web', namespace: 'apps', annotations},
  spec: {selector: {matchLabels: {app: 'web'}}, template: {metadata: {labels: {app: 'web'}, annotations: templateAnnotations}, spec: {containers: [{name: 'web', image: 'nginx'}]}}},
});
const counters = (moved: Record<string, number>) => Object.fromEntries(Object.entries(moved).filter(([key]) => key.split('{')[0]?.endsWith('_total')));

describe('GET /metrics through functions-framework', () => {
  it('answers the Prometheus text format under one prefix, with sub-millisecond latency buckets', async () => {
    const res = await server().get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const names = new Set([...res.text.matchAll(/^# TYPE (\S+) /gm)].map(m => m[1]));
    expect([...names].every(name => name?.startsWith(P))).toBe(true);
    expect(names).toEqual(
      new Set([
        `${P}requests_total`,
        `${P}decisions_total`,
        `${P}refusals_total`,
        `${P}request_duration_seconds`,
        `${P}namespace_lookups_total`,
        `${P}config_loads_total`,
        `${P}config_info`,
        `${P}cloudevents_total`,
        `${P}cloudevents_queued`,
        `${P}build_info`,
      ]),
    );
    const samples = parseSamples(res.text);
    for (const le of ['0.0001', '0.00025', '0.0005', '0.001']) {
      expect(samples.has(seriesKey(`${P}request_duration_seconds_bucket`, {le, outcome: 'injected'}))).toBe(true);
    }
    for (const reason of ['template', 'workload']) expect(samples.has(seriesKey(`${P}decisions_total`, {outcome: 'deferred', reason}))).toBe(true);
    expect(samples.get(seriesKey(`${P}config_info`, {hash: defaultConfig().hash}))).toBe(1);
  });

  it('moves each counter by exactly the reviews and refusals sent, and the histogram counts each review', async () => {
    const before = await scrape();

    const reviews = [
      review(annotatedPod(), {uid: 'm-1'}),
      review(annotatedPod(), {uid: 'm-2', apiVersion: 'admission.k8s.io/v1beta1'}),
      review(annotatedPod(), {uid: 'm-3', dryRun: true}),
      review(pod(), {uid: 'm-4'}),
      review(annotatedPod(), {uid: 'm-5', operation: 'UPDATE'}),
      review({apiVersion: 'v1', kind: 'Service', metadata: {name: 's'}}, {uid: 'm-6'}),
      // Caller-chosen kind and operation must not become label values.
      review({}, {uid: 'm-7', kind: {group: 'x.io', kind: 'Banana-7f3a'}, operation: 'EXPLODE-7f3a'}),
      // Workloads: their pods are injected when created (the request copied from the workload's metadata, or left in the template).
      review(deployment({[NSM_ANNOTATION]: 'kernel://a/nsm-1'}, {}), {uid: 'm-8'}),
      review(deployment({}, {[NSM_ANNOTATION]: 'kernel://a/nsm-1'}), {uid: 'm-9'}),
    ];
    for (const r of reviews) expect((await post('/mutate', r)).status).toBe(200);
    expect((await post('/mutate', '')).status).toBe(400);
    expect((await post('/mutate', {hello: 'world'})).status).toBe(400);
    expect((await server().get('/mutate')).status).toBe(405);
    expect((await server().get('/nope')).status).toBe(404);
    expect((await post('/metrics', {})).status).toBe(405);
    expect((await server().get('/healthz')).status).toBe(200);

    const after = await scrape();
    const moved = changes(before, after);
    expect(counters(moved)).toEqual({
      [seriesKey(`${P}requests_total`, {kind: 'Pod', operation: 'CREATE'})]: 4,
      [seriesKey(`${P}requests_total`, {kind: 'Pod', operation: 'UPDATE'})]: 1,
      [seriesKey(`${P}requests_total`, {kind: 'other', operation: 'CREATE'})]: 1,
      [seriesKey(`${P}requests_total`, {kind: 'other', operation: 'other'})]: 1,
      [seriesKey(`${P}requests_total`, {kind: 'Deployment', operation: 'CREATE'})]: 2,
      [seriesKey(`${P}decisions_total`, {outcome: 'injected', reason: 'pod'})]: 3,
      [seriesKey(`${P}decisions_total`, {outcome: 'deferred', reason: 'workload'})]: 1,
      [seriesKey(`${P}decisions_total`, {outcome: 'deferred', reason: 'template'})]: 1,
      [seriesKey(`${P}decisions_total`, {outcome: 'skipped', reason: 'not-requested'})]: 1,
      [seriesKey(`${P}decisions_total`, {outcome: 'skipped', reason: 'not-create'})]: 2,
      [seriesKey(`${P}decisions_total`, {outcome: 'skipped', reason: 'unsupported-kind'})]: 1,
      [seriesKey(`${P}refusals_total`, {code: 'empty-body'})]: 1,
      [seriesKey(`${P}refusals_total`, {code: 'not-admission-review'})]: 1,
      [seriesKey(`${P}refusals_total`, {code: 'method-not-allowed'})]: 2,
      [seriesKey(`${P}refusals_total`, {code: 'not-found'})]: 1,
    });
    const count = (outcome: string) => moved[seriesKey(`${P}request_duration_seconds_count`, {outcome})];
    expect(count('injected')).toBe(3);
    expect(count('deferred')).toBe(2);
    expect(count('skipped')).toBe(4);
    expect(count('error')).toBeUndefined();
    const inf = (outcome: string) => moved[seriesKey(`${P}request_duration_seconds_bucket`, {le: '+Inf', outcome})];
    expect([inf('injected'), inf('skipped')]).toEqual([3, 4]);
    expect([...after.keys()].some(key => key.includes('7f3a'))).toBe(false);
  });
});

describe('config reloads', () => {
  const volume = new FakeConfigMapVolume(DEFAULT_CONFIG_TEXT);
  let runtime: Runtime;
  beforeAll(() => (runtime = createRuntime({env: {INJECTOR_CONFIG: volume.dir}, logger: silentLogger, watch: false})));
  afterAll(() => {
    runtime.close();
    volume.remove();
  });
  const samples = async () => parseSamples((await runtime.metrics.page()).body);

  it('counts the startup load, then ok and rejected reloads; the info metric holds only the hash in force', async () => {
    const start = await samples();
    expect(start.get(seriesKey(`${P}config_loads_total`, {result: 'ok'}))).toBe(1);
    expect(pick(Object.fromEntries(start), `${P}config_info`)).toEqual({[seriesKey(`${P}config_info`, {hash: defaultConfig().hash})]: 1});

    volume.swap(stringify({...defaultConfig().config, nativeSidecars: true}));
    const swapped = runtime.config.load();
    expect(swapped.ok).toBe(true);
    const newHash = runtime.config.get()?.hash ?? '';
    expect(newHash).not.toBe(defaultConfig().hash);
    volume.swap('sidecars: not-a-list\n');
    expect(runtime.config.load().ok).toBe(false);

    const end = await samples();
    expect(counters(changes(start, end))).toEqual({
      [seriesKey(`${P}config_loads_total`, {result: 'ok'})]: 1,
      [seriesKey(`${P}config_loads_total`, {result: 'rejected'})]: 1,
    });
    // The rejected config changed nothing: the good one's hash is still the only one.
    expect(pick(Object.fromEntries(end), `${P}config_info`)).toEqual({[seriesKey(`${P}config_info`, {hash: newHash})]: 1});
  });
});

describe('the handler feeding the metrics', () => {
  const body = (object: unknown, uid: string): HttpRequest => ({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(review(object, {uid})))}});
  const setup = (deps: {namespaces?: NamespaceSource; config?: () => VersionedConfig}) => {
    const metrics = createMetrics('test');
    const handle = createHandler({
      config: deps.config ?? (() => defaultConfig()),
      logger: silentLogger,
      namespaces: deps.namespaces,
      onDecision: record => metrics.decision(record),
      onRefusal: code => metrics.refusal(code),
    });
    return {handle, samples: async () => parseSamples((await metrics.page()).body)};
  };

  it('counts namespace lookups: ok, failed, and a source that rejects as failed (the fallback)', async () => {
    const results: Array<() => Promise<NamespaceLookup>> = [
      async () => ({ok: true, meta: {annotations: {[NSM_ANNOTATION]: 'kernel://ns/nsm-1'}, labels: {}}}),
      async () => ({ok: false, reason: 'connection refused'}),
      async () => {
        throw new Error('a bug in the source');
      },
    ];
    let next = 0;
    const namespaces: NamespaceSource = {
      lookup: () => {
        const result = results[next++];
        if (result === undefined) throw new Error('one lookup too many');
        return result();
      },
    };
    const {handle, samples} = setup({namespaces});
    const before = await samples();
    for (const uid of ['n-1', 'n-2', 'n-3']) expect((await handle(body(pod(), uid))).status).toBe(200);
    // An UPDATE is never mutated, so no lookup is made for it.
    await handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(review(pod(), {uid: 'n-4', operation: 'UPDATE'})))}});
    const moved = changes(before, await samples());
    expect(pick(moved, `${P}namespace_lookups_total`)).toEqual({
      [seriesKey(`${P}namespace_lookups_total`, {result: 'ok'})]: 1,
      [seriesKey(`${P}namespace_lookups_total`, {result: 'failed'})]: 2,
    });
    expect(pick(moved, `${P}decisions_total`)).toEqual({
      [seriesKey(`${P}decisions_total`, {outcome: 'injected', reason: 'namespace'})]: 1,
      [seriesKey(`${P}decisions_total`, {outcome: 'skipped', reason: 'not-requested'})]: 2,
      [seriesKey(`${P}decisions_total`, {outcome: 'skipped', reason: 'not-create'})]: 1,
    });
  });

  it('counts an injector failure as outcome error, still answering allowed', async () => {
    // A config that is not one makes the core throw: the stand-in for a bug of ours.
    const broken = {hash: 'broken', config: undefined} as unknown as VersionedConfig;
    const {handle, samples} = setup({config: () => broken});
    const before = await samples();
    const answer = await handle(body(annotatedPod(), 'e-1'));
    expect(JSON.parse(answer.body)).toMatchObject({response: {uid: 'e-1', allowed: true}});
    const moved = changes(before, await samples());
    expect(counters(moved)).toEqual({
      [seriesKey(`${P}requests_total`, {kind: 'Pod', operation: 'CREATE'})]: 1,
      [seriesKey(`${P}decisions_total`, {outcome: 'error', reason: 'exception'})]: 1,
    });
    expect(moved[seriesKey(`${P}request_duration_seconds_count`, {outcome: 'error'})]).toBe(1);
  });

  it('keeps the answer when an observer throws', async () => {
    const lines: string[] = [];
    const handle = createHandler({
      config: () => defaultConfig(),
      logger: {log: (_level, message) => lines.push(message)},
      onDecision: () => {
        throw new Error('metrics broke');
      },
    });
    const plain = createHandler({config: () => defaultConfig(), logger: silentLogger});
    const [a, b] = await Promise.all([handle(body(annotatedPod(), 'o-1')), plain(body(annotatedPod(), 'o-1'))]);
    expect(a).toEqual(b);
    expect(lines).toContain('decision observer failed');
  });

  it('serves no /metrics route when the handler has no metrics', async () => {
    const handle = createHandler({config: () => defaultConfig(), logger: silentLogger});
    expect((await handle({method: 'GET', path: '/metrics', body: undefined})).status).toBe(404);
  });
});

describe('independent runtimes', () => {
  it('keep their own counts: a review on one does not show on the other', async () => {
    const a = createRuntime({logger: silentLogger, watch: false});
    const b = createRuntime({logger: silentLogger, watch: false});
    try {
      await a.handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(review(annotatedPod(), {uid: 'i-1'})))}});
      const key = seriesKey(`${P}decisions_total`, {outcome: 'injected', reason: 'pod'});
      expect(parseSamples((await a.metrics.page()).body).get(key)).toBe(1);
      expect(parseSamples((await b.metrics.page()).body).get(key)).toBe(0);
    } finally {
      a.close();
      b.close();
    }
  });
});
