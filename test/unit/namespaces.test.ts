/** Namespace-level features: the pure parts, the handler's fallback, and the API lookup over real TLS. */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:https';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Pod} from 'kubernetes-types/core/v1';
import {injectObject} from '../../functions/core/inject-object';
import {podSecurityLevel} from '../../functions/core/namespace';
import {sriovPools} from '../../functions/core/sriov';
import {createHandler} from '../../functions/http/handler';
import {ApiNamespaceSource, type NamespaceSource} from '../../functions/kube/namespaces';
import {silentLogger} from '../../functions/ops/log';
import {annotatedPod, configWith, defaultConfig, NSM_ANNOTATION, pod, review} from '../support/fixtures';
import {makeTestCerts} from '../support/test-ca';

describe('podSecurityLevel', () => {
  it.each([
    [undefined, 'privileged'],
    [{}, 'privileged'],
    [{'pod-security.kubernetes.io/enforce': 'baseline'}, 'baseline'],
    [{'pod-security.kubernetes.io/enforce': 'restricted'}, 'restricted'],
    [{'pod-security.kubernetes.io/enforce': 'Restricted'}, 'privileged'],
    [{'pod-security.kubernetes.io/warn': 'restricted'}, 'privileged'],
  ])('labels %j -> %s', (labels, level) => {
    expect(podSecurityLevel(labels === undefined ? undefined : {annotations: {}, labels})).toBe(level);
  });
});

describe('the cluster default level (podSecurityDefault)', () => {
  it('applies to namespaces without the label, and to unknown namespaces', () => {
    expect(podSecurityLevel({annotations: {}, labels: {}}, 'baseline')).toBe('baseline');
    expect(podSecurityLevel(undefined, 'restricted')).toBe('restricted');
    expect(podSecurityLevel({annotations: {}, labels: {'pod-security.kubernetes.io/enforce': 'privileged'}}, 'restricted')).toBe('privileged');
  });

  it('makes an unlabelled namespace get CSI volumes when the cluster default is baseline', () => {
    const config = configWith({podSecurityDefault: 'baseline'});
    const out = injectObject({kind: {group: '', kind: 'Pod'}, object: annotatedPod(), seed: 's', namespace: {annotations: {}, labels: {}}}, config).object as Pod;
    expect(out.spec?.volumes?.map(v => Object.keys(v).sort().join())).toEqual(['csi,name', 'csi,name']);
  });
});

describe('sriovPools', () => {
  const count = (value: string, label = 'sriovToken') => Object.fromEntries(sriovPools(value, label).pools);
  it('counts the first pool of each URL', () => {
    expect(count('kernel://a/n?sriovToken=x.io/a&sriovToken=x.io/b,kernel://b/n?sriovToken=x.io/a,kernel://c/n?sriovToken=y.io/c')).toEqual({'x.io/a': 2, 'y.io/c': 1});
  });
  it('counts the first of several pools listed in one label (sriovToken=<pool>,<pool>, percent-encoded in the annotation)', () => {
    expect(count('kernel://a/n?sriovToken=x.io/a%2Cy.io/b,kernel://b/n?sriovToken=y.io/b%2Cx.io/a')).toEqual({'x.io/a': 1, 'y.io/b': 1});
  });

  it('counts nothing without tokens, for non-URLs, or when the label is off', () => {
    expect(count('kernel://a/n,kernel://b/n?app=x')).toEqual({});
    expect(count('not a url?sriovToken=x.io/a')).toEqual({});
    expect(count('kernel://a/n?sriovToken=x.io/a', '')).toEqual({});
  });
  it.each([
    ['memory', false],
    ['kubernetes.io/x', false],
    ['xkubernetes.io/foo', false],
    ['sub.kubernetes.io/gpu', false],
    ['requests.example.com/x', false],
    ['a.io/%0A', false],
    ['a.io/b/c', false],
    [`a.io/${'x'.repeat(64)}`, false],
    [`${'d'.repeat(250)}.io/x`, false],
    ['worker.domain/100G', true],
    ['intel.com/sriov_netdevice', true],
    [`a.io/${'x'.repeat(63)}`, true],
  ])('%s is an extended resource name: %s', (name, valid) => {
    const r = sriovPools(`kernel://a/n?sriovToken=${name}`, 'sriovToken');
    expect(r.pools.size).toBe(valid ? 1 : 0);
    expect(r.warnings).toEqual(valid ? [] : ['a sriovToken value is not an extended resource name (domain/name outside kubernetes.io); ignored']);
  });
});

describe('the handler with a namespace source', () => {
  const answer = async (namespaces: NamespaceSource, object: unknown) => {
    const handle = createHandler({config: () => defaultConfig(), logger: silentLogger, namespaces});
    const res = await handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(review(object)))}});
    return (JSON.parse(res.body) as {response: {patch?: string; warnings?: string[]}}).response;
  };
  const down: NamespaceSource = {lookup: async () => ({ok: false, reason: 'connection refused'})};
  const annotatedNs: NamespaceSource = {lookup: async () => ({ok: true, meta: {annotations: {[NSM_ANNOTATION]: 'kernel://ns/nsm-1'}, labels: {}}})};

  it('injects a plain pod of an annotated namespace', async () => {
    const response = await answer(annotatedNs, pod());
    expect(response.patch).toBeDefined();
    expect(Buffer.from(response.patch ?? '', 'base64').toString()).toContain('kernel://ns/nsm-1');
  });

  it('falls back when the lookup fails, and says so in the warnings', async () => {
    const plain = await answer(down, pod());
    expect(plain.patch).toBeUndefined();
    expect(plain.warnings).toEqual(['a namespace-wide request for network services, if any, was not applied (could not read namespace apps: connection refused)']);
    const annotated = await answer(down, annotatedPod());
    expect(annotated.patch).toBeDefined();
    expect(annotated.warnings).toEqual(['injected for the privileged Pod Security level, the cluster default (could not read namespace apps: connection refused)']);
  });

  it('does not look the namespace up for reviews it will not mutate', async () => {
    const lookup = jest.fn(async () => ({ok: false as const, reason: 'should not be called'}));
    const handle = createHandler({config: () => defaultConfig(), logger: silentLogger, namespaces: {lookup}});
    for (const r of [review(annotatedPod(), {operation: 'UPDATE'}), review({apiVersion: 'v1', kind: 'Service', metadata: {namespace: 'apps'}})]) {
      await handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(r))}});
    }
    expect(lookup).not.toHaveBeenCalled();
  });
});

describe('ApiNamespaceSource (real TLS, a fake apiserver)', () => {
  const certs = makeTestCerts();
  const dir = mkdtempSync(join(tmpdir(), 'nsm-sa-'));
  const tokenFile = join(dir, 'token');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(tokenFile, 'token-1\n');
  writeFileSync(caFile, certs.caPem);
  const requests: Array<{url: string; auth: string | undefined}> = [];
  let behaviour: 'ok' | 'forbidden' | 'hang' = 'ok';
  let server: Server;
  let apiUrl: string;
  let clock = 0;

  beforeAll(async () => {
    server = createServer({cert: certs.certPem, key: certs.keyPem}, (req, res) => {
      requests.push({url: req.url ?? '', auth: req.headers.authorization});
      if (behaviour === 'hang') return;
      if (behaviour === 'forbidden') {
        res.writeHead(403, {'content-type': 'application/json'}).end(JSON.stringify({kind: 'Status', message: 'namespaces "x" is forbidden'}));
        return;
      }
      const name = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      res.writeHead(200, {'content-type': 'application/json'}).end(
        JSON.stringify({kind: 'Namespace', metadata: {name, annotations: {[NSM_ANNOTATION]: `kernel://${name}/nsm-1`}, labels: {'pod-security.kubernetes.io/enforce': 'baseline'}}}),
      );
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
    rmSync(dir, {recursive: true, force: true});
  });
  beforeEach(() => {
    requests.length = 0;
    behaviour = 'ok';
  });

  const source = (options: {timeoutMs?: number; ttlMs?: number; maxEntries?: number; maxSockets?: number} = {}) =>
    new ApiNamespaceSource({apiUrl, caFile, tokenFile, now: () => clock, ...options});

  it('reads annotations and labels with the bearer token, and caches them for the TTL', async () => {
    const s = source({ttlMs: 1000});
    clock = 0;
    const first = await s.lookup('apps');
    expect(first).toEqual({ok: true, meta: {annotations: {[NSM_ANNOTATION]: 'kernel://apps/nsm-1'}, labels: {'pod-security.kubernetes.io/enforce': 'baseline'}}});
    expect(requests).toEqual([{url: '/api/v1/namespaces/apps', auth: 'Bearer token-1'}]);
    clock = 999;
    await s.lookup('apps');
    expect(requests).toHaveLength(1);
    clock = 1001;
    await s.lookup('apps');
    expect(requests).toHaveLength(2);
    s.close();
  });

  it('shares one request between concurrent lookups of a namespace', async () => {
    const s = source();
    await Promise.all([s.lookup('a'), s.lookup('a'), s.lookup('a')]);
    expect(requests).toHaveLength(1);
    s.close();
  });

  it('keeps the cache bounded', async () => {
    const s = source({maxEntries: 2});
    await s.lookup('a');
    await s.lookup('b');
    await s.lookup('c');
    await s.lookup('a');
    expect(requests.map(r => r.url)).toEqual(['a', 'b', 'c', 'a'].map(n => `/api/v1/namespaces/${n}`));
    s.close();
  });

  it('reports the apiserver refusal, reuses it for 2 s, then asks again', async () => {
    const s = source();
    clock = 0;
    behaviour = 'forbidden';
    expect(await s.lookup('x')).toEqual({ok: false, reason: 'HTTP 403: namespaces "x" is forbidden'});
    behaviour = 'ok';
    clock = 1_999;
    expect((await s.lookup('x')).ok).toBe(false);
    expect(requests).toHaveLength(1);
    clock = 2_001;
    expect((await s.lookup('x')).ok).toBe(true);
    expect(requests).toHaveLength(2);
    s.close();
  });

  it('answers with the last good metadata when a later read fails, while it is recent', async () => {
    const s = source({ttlMs: 1000});
    clock = 0;
    const good = await s.lookup('kept');
    behaviour = 'forbidden';
    clock = 5_000;
    expect(await s.lookup('kept')).toEqual(good);
    clock = 700_000;
    expect((await s.lookup('kept')).ok).toBe(false);
    s.close();
  });

  it('gives up after the timeout', async () => {
    const s = source({timeoutMs: 100});
    behaviour = 'hang';
    expect(await s.lookup('slow')).toEqual({ok: false, reason: 'no answer within 100 ms'});
    s.close();
  });

  it('bounds lookups waiting for a connection by the same deadline (they never reach the apiserver)', async () => {
    const s = source({timeoutMs: 200, maxSockets: 1});
    behaviour = 'hang';
    const results = await Promise.all(['q1', 'q2', 'q3', 'q4'].map(n => s.lookup(n)));
    expect(results.every(r => !r.ok && r.reason === 'no answer within 200 ms')).toBe(true);
    // Had the deadline started only with a socket, each would have had its turn on the one connection.
    expect(requests).toHaveLength(1);
    s.close();
  });

  it('rejects a server its CA did not sign', async () => {
    const other = makeTestCerts('other-ca');
    const otherCa = join(dir, 'other.crt');
    writeFileSync(otherCa, other.caPem);
    const s = new ApiNamespaceSource({apiUrl, caFile: otherCa, tokenFile});
    const result = await s.lookup('apps');
    expect(result.ok).toBe(false);
    expect(requests).toHaveLength(0);
    s.close();
  });

  it('re-reads a rotated token file', async () => {
    const s = source();
    clock = 0;
    await s.lookup('t1');
    writeFileSync(tokenFile, 'token-2\n');
    clock = 61_000;
    await s.lookup('t2');
    expect(requests.map(r => r.auth)).toEqual(['Bearer token-1', 'Bearer token-2']);
    s.close();
    writeFileSync(tokenFile, 'token-1\n');
  });
});
