/**
 * The function as functions-framework serves it, table-driven through getTestServer (the way
 * functions-framework-nodejs tests itself): every route, every bad input, both review versions.
 */
import {getTestServer} from '@google-cloud/functions-framework/testing';
import {applyPatch, deepClone, type Operation} from 'fast-json-patch';
import request from 'supertest';
import {annotatedPod, decodePatch, defaultConfig, pod, review} from './support/fixtures';

// Importing the module registers `mutate` with the framework, as `functions-framework --target=mutate` does.
import '../functions/index';

const server = () => request(getTestServer('mutate'));

interface Case {
  name: string;
  method?: 'get' | 'post' | 'put' | 'delete';
  path?: string;
  body?: string | object;
  contentType?: string;
  status: number;
  code?: string;
  message?: RegExp;
}

const bigBody = JSON.stringify(review(pod({annotations: {big: 'x'.repeat(7 * 1024 * 1024)}})));

const refusals: Case[] = [
  {name: 'empty body', body: '', status: 400, code: 'empty-body', message: /empty/},
  {name: 'malformed JSON (text/plain)', body: '{"apiVersion":', contentType: 'text/plain', status: 400, code: 'malformed-json', message: /not valid JSON/},
  {name: 'JSON that is not a review', body: {hello: 'world'}, status: 400, code: 'not-admission-review', message: /missing apiVersion/},
  {name: 'wrong apiVersion', body: {...review(pod()), apiVersion: 'admission.k8s.io/v2'}, status: 400, code: 'not-admission-review', message: /apiVersion must be one of/},
  {name: 'wrong kind', body: {...review(pod()), kind: 'Pod'}, status: 400, code: 'not-admission-review', message: /kind/},
  {name: 'no request', body: {apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview'}, status: 400, code: 'not-admission-review', message: /missing request/},
  {name: 'missing uid', body: {apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {kind: {group: '', kind: 'Pod'}, operation: 'CREATE'}}, status: 400, code: 'not-admission-review', message: /missing request.uid/},
  {name: 'empty uid', body: {...review(pod()), request: {...review(pod()).request, uid: ''}}, status: 400, code: 'not-admission-review', message: /request.uid/},
  {name: 'a JSON array', body: '[1,2]', contentType: 'application/json', status: 400, code: 'not-admission-review'},
  {name: 'a body over the limit', body: bigBody, contentType: 'application/json', status: 413, code: 'body-too-large', message: /limit is 6291456/},
  {name: 'GET on /mutate', method: 'get', path: '/mutate', status: 405, code: 'method-not-allowed', message: /POST/},
  {name: 'PUT on /', method: 'put', path: '/', body: {}, status: 405, code: 'method-not-allowed'},
  {name: 'POST on /healthz', path: '/healthz', body: {}, status: 405, code: 'method-not-allowed'},
  {name: 'POST on /metrics', path: '/metrics', body: {}, status: 405, code: 'method-not-allowed', message: /GET/},
  {name: 'an unknown path', path: '/nope', body: {}, status: 404, code: 'not-found', message: /\/nope/},
];

describe('refusals: a 4xx with a stable code and a message naming the problem', () => {
  it.each(refusals)('$name -> $status', async c => {
    const agent = server();
    let req = agent[c.method ?? 'post'](c.path ?? '/mutate');
    if (c.contentType !== undefined) req = req.set('content-type', c.contentType);
    const res = await (c.body !== undefined ? req.send(c.body) : req);
    expect(res.status).toBe(c.status);
    const error = (res.body as {error?: {code: string; message: string}}).error;
    if (c.code !== undefined) expect(error?.code).toBe(c.code);
    if (c.message !== undefined) expect(error?.message).toMatch(c.message);
  });

  it('malformed JSON sent as application/json is refused with 400 by the framework body parser', async () => {
    const res = await server().post('/mutate').set('content-type', 'application/json').send('{"apiVersion":');
    expect(res.status).toBe(400);
  });

  it('answers the next good review normally after every refusal', async () => {
    const res = await server().post('/mutate').send(review(annotatedPod()));
    expect(res.status).toBe(200);
    expect(res.body.response.patchType).toBe('JSONPatch');
  });
});

interface ReviewCase {
  name: string;
  review: ReturnType<typeof review>;
  patched: boolean;
  warning?: RegExp;
}

const reviews: ReviewCase[] = [
  {name: 'an annotated pod (v1)', review: review(annotatedPod()), patched: true},
  {name: 'an annotated pod (v1beta1)', review: review(annotatedPod(), {apiVersion: 'admission.k8s.io/v1beta1'}), patched: true},
  {name: 'an annotated pod, dry-run', review: review(annotatedPod(), {dryRun: true}), patched: true},
  {name: 'a plain pod', review: review(pod()), patched: false},
  {name: 'UPDATE of an annotated pod', review: review(annotatedPod(), {operation: 'UPDATE'}), patched: false},
  {name: 'DELETE (no object)', review: {...review(undefined, {operation: 'DELETE', kind: {group: '', kind: 'Pod'}})}, patched: false},
  {name: 'CONNECT', review: review(annotatedPod(), {operation: 'CONNECT'}), patched: false},
  {name: 'a Service', review: review({apiVersion: 'v1', kind: 'Service', metadata: {annotations: {'networkservicemesh.io': 'k://a'}}}), patched: false},
  {name: 'an object that is a string', review: review('nonsense', {kind: {group: '', kind: 'Pod'}}), patched: false, warning: /not a JSON object/},
  {name: 'containers not an array', review: review({...annotatedPod(), spec: {containers: 'x'}}), patched: false, warning: /spec.containers is not an array/},
  {name: 'an annotation that is not a string', review: review({...pod(), metadata: {annotations: {'networkservicemesh.io': ['k://a']}}}), patched: false, warning: /is not a string/},
];

describe('reviews: 200, same apiVersion and uid, allowed, a patch only when injecting', () => {
  it.each(reviews)('$name', async c => {
    const res = await server().post('/mutate').send(c.review);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({apiVersion: c.review.apiVersion, kind: 'AdmissionReview', response: {uid: c.review.request.uid, allowed: true}});
    const response = res.body.response as {patchType?: string; patch?: string; warnings?: string[]};
    expect(response.patchType !== undefined).toBe(c.patched);
    expect(response.patch !== undefined).toBe(c.patched);
    if (c.warning) expect(response.warnings).toEqual([expect.stringMatching(c.warning)]);
    else expect(response.warnings).toBeUndefined();
  });

  it('POST / is the same as POST /mutate', async () => {
    const a = await server().post('/').send(review(annotatedPod()));
    const b = await server().post('/mutate').send(review(annotatedPod()));
    expect(a.body).toEqual(b.body);
  });

  it('returns a patch that yields the injected pod and then no further change', async () => {
    const input = annotatedPod();
    const first = await server().post('/mutate').send(review(input));
    const injected = applyPatch(deepClone(input), decodePatch(first.body.response.patch) as Operation[], true).newDocument;
    expect(injected.spec.containers.map((c: {name: string}) => c.name)).toEqual(['app', 'cmd-nsc']);
    expect(injected.spec.initContainers.map((c: {name: string}) => c.name)).toEqual(['cmd-nsc-init']);
    const second = await server().post('/mutate').send(review(injected));
    expect(second.body.response.patch).toBeUndefined();
  });
});

describe('health', () => {
  it.each(['/healthz', '/readyz', '/ready'])('GET %s answers 200 with the config hash', async path => {
    const res = await server().get(path);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({status: 'ok', configHash: defaultConfig().hash});
  });
});
