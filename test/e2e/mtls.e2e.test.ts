/**
 * Mutual TLS between a real kube-apiserver and the function (issue #13): the apiserver presents the
 * client certificate named by the shipped AdmissionConfiguration and kubeconfig
 * (manifests/components/mtls/apiserver/), the function requires it (CLIENT_CA_FILE,
 * CLIENT_ALLOWED_NAMES). Without it the call is refused, the pod is admitted uninjected
 * (failurePolicy Ignore) and both sides say so.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createServer, request, type Server} from 'node:https';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Container, Pod} from 'kubernetes-types/core/v1';
import {parse, stringify} from 'yaml';
import {createNamespaceWithDefaultServiceAccount, startControlPlane, type ControlPlane} from './harness/controlplane';
import {registerWebhook, startCluster, type Cluster} from './support/cluster';
import {collectionPath, render} from './support/manifests';
import {KubeletVolume} from '../support/kubelet-volume';
import {freePort} from '../support/process';
import {eventually} from '../support/eventually';
import {changes, parseSamples, seriesKey, type Samples} from '../support/prom-text';
import {makeTestCerts} from '../support/test-ca';
import {SERVICE_DNS, TestPki, type Pem} from '../support/tls';

const NSM = 'networkservicemesh.io';
const WEBHOOK = 'sidecar-injector.networkservicemesh.io';
const ALLOWED = 'kube-apiserver-admission';
/** Where the shipped files expect to live on a control plane node. */
const NODE_DIR = '/etc/kubernetes/nsm-sidecar-injector';
const SHIPPED = 'manifests/components/mtls/apiserver';

const names = (cs: Container[] | undefined): string[] => (cs ?? []).map(c => c.name);
const pod = (name: string): Pod => ({apiVersion: 'v1', kind: 'Pod', metadata: {name, annotations: {[NSM]: 'kernel://a/nsm-1'}}, spec: {containers: [{name: 'app', image: 'alpine'}]}});

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One HTTPS GET/POST on a fresh connection; `client`: the certificate to present, if any. */
function call(url: string, ca: string, options: {client?: Pem; method?: string; body?: string} = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ca,
        servername: 'localhost',
        agent: false,
        ...(options.client ? {cert: options.client.cert, key: options.client.key} : {}),
        headers: options.body === undefined ? {} : {'content-type': 'application/json'},
      },
      res => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({status: res.statusCode ?? 0, body}));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The kube-apiserver's own metrics, read as its admin. */
function apiserverMetrics(cp: ControlPlane): Promise<Samples> {
  return new Promise((resolve, reject) => {
    const req = request(`${cp.url}/metrics`, {ca: cp.caPem, cert: cp.adminCertPem, key: cp.adminKeyPem, agent: false}, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(parseSamples(text)) : reject(new Error(`GET /metrics: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The shipped apiserver files, written to `dir` as a control plane node would hold them, with the
 * node's folder replaced by `dir`. The shipped kubeconfig names the webhook by its Service; the
 * suite's apiserver calls it by URL (it can't route to Services), so the same user is added under
 * the URL's host:port, which is how the apiserver matches a URL webhook.
 */
function writeApiserverFiles(dir: string, webhookPorts: readonly number[], client: Pem): string {
  const admission = readFileSync(join(SHIPPED, 'admission-configuration.yaml'), 'utf8').replaceAll(NODE_DIR, dir);
  const kubeconfig = parse(readFileSync(join(SHIPPED, 'webhook-kubeconfig.yaml'), 'utf8').replaceAll(NODE_DIR, dir)) as {users: Array<{name: string; user: unknown}>};
  const shipped = kubeconfig.users.find(u => u.name === SERVICE_DNS);
  if (shipped === undefined) throw new Error(`the shipped kubeconfig has no user for ${SERVICE_DNS}`);
  for (const port of webhookPorts) kubeconfig.users.push({name: `127.0.0.1:${port}`, user: shipped.user});
  writeFileSync(join(dir, 'admission-configuration.yaml'), admission);
  writeFileSync(join(dir, 'webhook-kubeconfig.yaml'), stringify(kubeconfig));
  writeClientCertificate(dir, client);
  return join(dir, 'admission-configuration.yaml');
}

/** What copying the client certificate Secret's tls.crt and tls.key to the node does. */
function writeClientCertificate(dir: string, client: Pem): void {
  writeFileSync(join(dir, 'tls.crt'), client.cert);
  writeFileSync(join(dir, 'tls.key'), client.key);
}

/** The apiserver's last log line about failing open on `webhook`. */
function failOpenLine(cp: ControlPlane, webhook: string): string | undefined {
  const log = readFileSync(join(cp.tempDir, 'kube-apiserver.log'), 'utf8');
  return log.split('\n').filter(l => l.includes('Failed calling webhook, failing open') && l.includes(`"${webhook}"`)).pop();
}

const HANDSHAKE_WEBHOOK = 'handshake-refusal.example.test';
const refusalKey = (code: string): string => seriesKey('nsm_injector_refusals_total', {code});
const failOpenKey = seriesKey('apiserver_admission_webhook_fail_open_count', {name: WEBHOOK, type: 'admit'});

const pki = new TestPki();
const clientCa = pki.ca('nsm-e2e client CA');
const apiserverClient = pki.client(clientCa, ALLOWED);
const caVolume = new KubeletVolume({'ca.crt': clientCa.cert});
const nodeDir = mkdtempSync(join(tmpdir(), 'nsm-e2e-apiserver-'));
let cluster: Cluster;
/** A second apiserver, started without the admission config: it presents no client certificate. */
let bare: ControlPlane;
/** The port of the handshake-refusing server below, known before the apiserver reads its kubeconfig. */
let handshakePort: number;

const ourMetrics = async (): Promise<Samples> => parseSamples((await call(`${cluster.webhook.url.replace(/\/mutate$/, '')}/metrics`, cluster.servingCaPem)).body);

beforeAll(async () => {
  handshakePort = await freePort();
  [cluster, bare] = await Promise.all([
    startCluster({
      webhookEnv: {CLIENT_CA_FILE: join(caVolume.dir, 'ca.crt'), CLIENT_ALLOWED_NAMES: ALLOWED, TLS_RELOAD_POLL_SECONDS: '60'},
      apiserverArgs: port => [`--admission-control-config-file=${writeApiserverFiles(nodeDir, [port, handshakePort], apiserverClient)}`],
    }),
    startControlPlane(),
  ]);
  await cluster.namespace('apps');
  const admin = bare.adminClient();
  await createNamespaceWithDefaultServiceAccount(admin, 'apps');
  await registerWebhook(admin, render('deployment'), cluster.webhook.url, cluster.servingCaPem);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await bare?.stop();
  caVolume.remove();
  rmSync(nodeDir, {recursive: true, force: true});
  pki.remove();
});

it('the apiserver presents the client certificate of the shipped files: an annotated pod is stored injected', async () => {
  const before = await ourMetrics();
  const created = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('mtls'));
  expect(names(created.spec?.containers)).toEqual(['app', 'cmd-nsc']);
  expect(names(created.spec?.initContainers)).toEqual(['cmd-nsc-init']);
  const moved = changes(before, await ourMetrics());
  expect(Object.keys(moved).filter(k => k.startsWith('nsm_injector_refusals_total'))).toEqual([]);
  expect(cluster.webhook.rawOutput()).toContain('"client certificates required"');
});

it('refuses direct callers without an acceptable certificate, each counted by reason; probes need none', async () => {
  const url = cluster.webhook.url;
  const body = JSON.stringify({apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview'});
  const before = await ourMetrics();
  const otherCa = await cluster.cp.issueCertificate({commonName: ALLOWED, usage: 'client'}); // the right name, another CA
  const callers: Array<[string, Pem | undefined, number, string]> = [
    ['no certificate', undefined, 401, 'no-client-certificate'],
    ['a certificate from another CA', {cert: otherCa.certPem, key: otherCa.keyPem}, 401, 'unknown-client-ca'],
    ['a certificate from the client CA with a name not allowed', pki.client(clientCa, 'someone-else'), 403, 'client-name-not-allowed'],
  ];
  for (const [what, client, status, code] of callers) {
    const answer = await call(url, cluster.servingCaPem, {method: 'POST', body, ...(client ? {client} : {})});
    expect({what, status: answer.status, code: (JSON.parse(answer.body) as {error: {code: string}}).error.code}).toEqual({what, status, code});
  }
  // The control: the apiserver's certificate, presented directly, gets through to the handler (which
  // refuses this body as no review: a 400, not a 401/403).
  expect((await call(url, cluster.servingCaPem, {method: 'POST', body, client: apiserverClient})).status).toBe(400);
  // Probes come without a certificate and are answered.
  const base = url.replace(/\/mutate$/, '');
  expect((await call(`${base}/healthz`, cluster.servingCaPem)).status).toBe(200);
  expect((await call(`${base}/readyz`, cluster.servingCaPem)).status).toBe(200);
  expect(changes(before, await ourMetrics())).toMatchObject({
    [refusalKey('no-client-certificate')]: 1,
    [refusalKey('unknown-client-ca')]: 1,
    [refusalKey('client-name-not-allowed')]: 1,
    [refusalKey('not-admission-review')]: 1,
  });
});

it('an apiserver without the client certificate is refused: the pod is stored uninjected (failurePolicy Ignore), the apiserver reports the failure, we count it', async () => {
  const admin = bare.adminClient();
  // Dry runs until the apiserver has the webhook configuration and has called (and failed) once.
  await eventually(async () => {
    await admin.create('/api/v1/namespaces/apps/pods', pod('probe'), {dryRun: true});
    return ((await apiserverMetrics(bare)).get(failOpenKey) ?? 0) > 0;
  }, 'the apiserver to call the webhook', 30_000, 200);
  const [apiserverBefore, oursBefore] = [await apiserverMetrics(bare), await ourMetrics()];

  const created = await admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('refused'));
  expect(names(created.spec?.containers)).toEqual(['app']);
  expect(created.metadata?.annotations?.['sidecar-injector.networkservicemesh.io/status']).toBeUndefined();

  const apiserverMoved = changes(apiserverBefore, await apiserverMetrics(bare));
  expect(apiserverMoved[failOpenKey]).toBe(1);
  // The status code the apiserver got: our 401, not a transport error (which it records as 503).
  expect(apiserverMoved[seriesKey('apiserver_admission_webhook_request_total', {code: '401', name: WEBHOOK, operation: 'CREATE', rejected: 'false', type: 'admit'})]).toBe(1);
  expect(changes(oursBefore, await ourMetrics())[refusalKey('no-client-certificate')]).toBe(1);
  // And its log says which webhook failed and why, in our words.
  expect(failOpenLine(bare, WEBHOOK)).toMatch(/failed to call webhook: a client certificate is required/);
});

it('a client CA bundle swapped on disk takes effect without a restart: the apiserver is refused, then accepted again', async () => {
  const newCa = pki.ca('nsm-e2e client CA two');
  const reloads = (): number => cluster.webhook.logs().filter(l => l['message'] === 'client CA bundle reloaded').length;
  const before = await ourMetrics();
  caVolume.update({'ca.crt': newCa.cert});
  await eventually(() => reloads() === 1, 'the new client CA bundle to be loaded', 10_000, 50);
  // The apiserver's certificate is from the old CA: refused on its next connection (the swap closed
  // the idle one it had), and the pod goes uninjected. (Go may first try the connection the swap
  // just closed, and fail that call without reaching us: hence the loop.)
  const refused = async (): Promise<number> => changes(before, await ourMetrics())[refusalKey('unknown-client-ca')] ?? 0;
  for (let i = 0; i < 5 && (await refused()) === 0; i++) {
    const out = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod(`swapped-out-${i}`));
    expect(names(out.spec?.containers)).toEqual(['app']);
  }
  expect(await refused()).toBe(1);
  expect(failOpenLine(cluster.cp, WEBHOOK)).toMatch(/is not signed by a CA this webhook trusts/);
  // A caller from the new CA gets through (to the handler, which refuses an empty review with 400).
  expect((await call(cluster.webhook.url, cluster.servingCaPem, {method: 'POST', body: '{}', client: pki.client(newCa, ALLOWED)})).status).toBe(400);

  // Both CAs, as during a CA rotation: the apiserver is accepted again.
  caVolume.update({'ca.crt': `${clientCa.cert}${newCa.cert}`});
  await eventually(() => reloads() === 2, 'the two-CA bundle to be loaded', 10_000, 50);
  const back = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('swapped-in'));
  expect(names(back.spec?.containers)).toEqual(['app', 'cmd-nsc']);
  // One process all along.
  expect(cluster.webhook.logs().filter(l => l['message'] === 'nsm-sidecar-injector started')).toHaveLength(1);
});

it('the apiserver reads a renewed client certificate from its files without a restart', async () => {
  // A certificate the webhook refuses by name, so that its use shows; then the right one again. The
  // apiserver reads the files for each new connection, at most once a second (client-go caches what
  // it read for a second: that is waited out, or a connection opened right after the swap would
  // still carry the old certificate and, accepted, be kept alive), so the function is restarted to
  // make it connect anew. (Its first call after the restart may fail on the connection that just
  // closed, a known race in Go's client, hence the polling.)
  const connectAnew = async (): Promise<void> => {
    await new Promise(r => setTimeout(r, 1100));
    await cluster.webhook.stop();
    await cluster.startWebhook();
  };
  writeClientCertificate(nodeDir, pki.client(clientCa, 'renewed-but-wrong-name'));
  await connectAnew();
  await eventually(async () => {
    await cluster.admin.create('/api/v1/namespaces/apps/pods', pod('renewed'), {dryRun: true});
    return ((await ourMetrics()).get(refusalKey('client-name-not-allowed')) ?? 0) > 0;
  }, 'the apiserver to present the renewed certificate', 15_000, 200);
  expect(failOpenLine(cluster.cp, WEBHOOK)).toMatch(/CN=renewed-but-wrong-name\) is valid, but none of its names is allowed to call/);
  const forbidden = [...(await apiserverMetrics(cluster.cp))].filter(([k]) => k.startsWith('apiserver_admission_webhook_request_total{code="403"') && k.includes(`name="${WEBHOOK}"`));
  expect(forbidden.reduce((n, [, v]) => n + v, 0)).toBeGreaterThan(0);

  writeClientCertificate(nodeDir, pki.client(clientCa, ALLOWED));
  await connectAnew();
  await eventually(async () => {
    const dry = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('renewed'), {dryRun: true});
    return names(dry.spec?.containers).includes('cmd-nsc');
  }, 'the apiserver to present the good certificate again', 15_000, 200);
});

it('an apiserver started before its client certificate files exist runs; once they exist, a change to the webhook configuration makes it use them', async () => {
  // The kind flow: the certificate is issued by cert-manager inside the cluster, so on a new cluster
  // the files come after the apiserver. It starts anyway. But a call made while they were missing
  // fails, and the apiserver keeps that failure for the webhook (it builds a webhook's client once,
  // and again only when its configuration changes): docs/tls.md says to put the files in place
  // first, or to touch the configuration.
  const dir = mkdtempSync(join(tmpdir(), 'nsm-e2e-apiserver-late-'));
  const webhookPort = Number(new URL(cluster.webhook.url).port);
  const config = writeApiserverFiles(dir, [webhookPort], apiserverClient);
  rmSync(join(dir, 'tls.crt'));
  rmSync(join(dir, 'tls.key'));
  const late = await startControlPlane({extraApiserverArgs: [`--admission-control-config-file=${config}`]});
  try {
    const admin = late.adminClient();
    await createNamespaceWithDefaultServiceAccount(admin, 'apps');
    const webhookConfig = await registerWebhook(admin, render('deployment'), cluster.webhook.url, cluster.servingCaPem);
    const failOpens = async (): Promise<number> => (await apiserverMetrics(late)).get(failOpenKey) ?? 0;
    await eventually(async () => {
      await admin.create('/api/v1/namespaces/apps/pods', pod('early'), {dryRun: true});
      return (await failOpens()) > 0;
    }, 'the apiserver to fail a call for want of the files', 30_000, 200);
    await eventually(() => failOpenLine(late, WEBHOOK) !== undefined, 'the failure in the apiserver log (flushed every few seconds)', 15_000, 200);
    expect(failOpenLine(late, WEBHOOK)).toMatch(/could not get REST client: open \S+\/tls\.crt: no such file or directory/);

    writeClientCertificate(dir, apiserverClient);
    const before = await failOpens();
    const stale = await admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('stale'), {dryRun: true});
    expect(names(stale.spec?.containers)).toEqual(['app']);
    expect(await failOpens()).toBe(before + 1);

    await admin.patch(`${collectionPath(webhookConfig)}/${webhookConfig.metadata.name}`, {metadata: {annotations: {'example.com/refreshed': 'now'}}});
    await eventually(async () => {
      const dry = await admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('late'), {dryRun: true});
      return names(dry.spec?.containers).includes('cmd-nsc');
    }, 'the apiserver to present the certificate', 30_000, 200);
  } finally {
    await late.stop();
    rmSync(dir, {recursive: true, force: true});
  }
});

/**
 * The alternative the function does not take, refusing in the TLS handshake (node's
 * `rejectUnauthorized: true`), shown against the same apiservers: what they report then. The
 * evidence behind docs/tls.md's choice of a 401/403 answer.
 */
describe('a server refusing in the handshake instead', () => {
  const otherCa = pki.ca('a CA the apiserver certificate is not from');
  const serving = makeTestCerts('handshake-refusal serving CA');
  const handshakeErrors: string[] = [];
  let server: Server;

  beforeAll(async () => {
    server = createServer({cert: serving.certPem, key: serving.keyPem, ca: otherCa.cert, requestCert: true, rejectUnauthorized: true}, (_req, res) => res.end());
    server.on('tlsClientError', (error: NodeJS.ErrnoException) => handshakeErrors.push(error.code ?? error.message));
    await new Promise<void>(resolve => server.listen(handshakePort, '127.0.0.1', resolve));
    const config = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: {name: 'handshake-refusal'},
      webhooks: [
        {
          name: HANDSHAKE_WEBHOOK,
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          timeoutSeconds: 5,
          clientConfig: {url: `https://127.0.0.1:${handshakePort}/`, caBundle: Buffer.from(serving.caPem).toString('base64')},
          rules: [{operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods']}],
          namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'handshake'}},
        },
      ],
    };
    for (const cp of [cluster.cp, bare]) {
      const admin = cp.adminClient();
      await createNamespaceWithDefaultServiceAccount(admin, 'handshake');
      await admin.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', config);
    }
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

  /**
   * How Go reports a connection that ended under it; which one depends on timing (seen here: EOF,
   * `read: connection reset by peer`, `write: broken pipe`, `use of closed network connection`, the last
   * also bare, without the `read tcp a->b:` prefix, when the connection closed before Go read from it).
   */
  const TRANSPORT_ERROR = '(EOF|use of closed network connection|(read|write) tcp \\S+->\\S+: .+)';

  /** Creates pods in the namespace until `cp` has called the handshake-refusing webhook and failed open. */
  async function failedCall(cp: ControlPlane): Promise<{line: string | undefined; codes: Record<string, number>}> {
    const key = seriesKey('apiserver_admission_webhook_fail_open_count', {name: HANDSHAKE_WEBHOOK, type: 'admit'});
    await eventually(async () => {
      await cp.adminClient().create('/api/v1/namespaces/handshake/pods', pod('probe'), {dryRun: true});
      return ((await apiserverMetrics(cp)).get(key) ?? 0) > 0;
    }, 'the apiserver to call the handshake-refusing webhook', 30_000, 200);
    const codes: Record<string, number> = {};
    for (const [series, value] of await apiserverMetrics(cp)) {
      if (!series.startsWith('apiserver_admission_webhook_request_total{') || !series.includes(`name="${HANDSHAKE_WEBHOOK}"`)) continue;
      const code = /code="(\d+)"/.exec(series)?.[1] ?? '?';
      codes[code] = (codes[code] ?? 0) + value;
    }
    return {line: failOpenLine(cp, HANDSHAKE_WEBHOOK), codes};
  }

  it('no certificate: the apiserver reports a TLS alert, as a 503 like any outage', async () => {
    const {line, codes} = await failedCall(bare);
    // The alert, or, when the apiserver's request crosses it, a broken connection: timing decides.
    expect(line).toMatch(new RegExp(`failed to call webhook: Post "[^"]+": (remote error: tls: certificate required|${TRANSPORT_ERROR})$`));
    expect(Object.keys(codes)).toEqual(['503']);
    expect(handshakeErrors).toContain('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
  });

  it('a certificate from another CA: the connection just ends; neither side learns why', async () => {
    handshakeErrors.length = 0;
    const {line, codes} = await failedCall(cluster.cp);
    // What a crashed webhook looks like too.
    expect(line).toMatch(new RegExp(`failed to call webhook: Post "[^"]+": ${TRANSPORT_ERROR}$`));
    expect(line).not.toMatch(/certificate/);
    expect(Object.keys(codes)).toEqual(['503']);
    expect(handshakeErrors.length).toBeGreaterThan(0);
    expect(handshakeErrors.every(e => e === 'ECONNRESET')).toBe(true);
  });
});
