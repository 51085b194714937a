/**
 * Coming from NSM's own webhook, against a real apiserver (docs/migrating-from-nsm.md):
 *  - the drop-in: the function started with the env of NSM v1.18.0's admission-webhook-k8s
 *    Deployment (test/testdata/nsm/admission-webhook-k8s.env.yaml, its source named there) and no
 *    INJECTOR_CONFIG stores the very pod, byte for byte, that the function started with the bundled
 *    default config stores;
 *  - the switch: with NSM's webhook configuration still registered (a stand-in answering as NSM does:
 *    support/fake-nsm-webhook.ts), every object is injected once, and once it is deleted, ours injects.
 */
import {execFileSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import type {Container, Pod, PodTemplateSpec} from 'kubernetes-types/core/v1';
import {blockWith} from '../support/doc-blocks';
import {defaultConfig, NSM_ANNOTATION, nsmWebhookEnv, STATUS_ANNOTATION} from '../support/fixtures';
import {ensureControlPlaneBinaries} from './harness/controlplane';
import {eventually, startCluster, type Cluster} from './support/cluster';
import {nsmWebhookConfiguration, startFakeNsmWebhook, type FakeNsmWebhook} from './support/fake-nsm-webhook';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
  await cluster.namespace('by-file');
  await cluster.namespace('by-nsm');
});
afterAll(async () => cluster?.stop());

const client = (): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {generateName: 'client-', labels: {app: 'client'}, annotations: {[NSM_ANNOTATION]: 'kernel://icmp-responder/nsm-1?sriovToken=worker.domain/10G'}},
  spec: {containers: [{name: 'app', image: 'alpine:3.20'}]},
});

/** The stored pod without what the apiserver assigns per object: identity, timestamps, the token volume's random suffix. */
function comparable(pod: Pod): string {
  const {name: _n, namespace: _ns, uid: _u, resourceVersion: _r, creationTimestamp: _c, managedFields: _m, ...metadata} = pod.metadata ?? {};
  return JSON.stringify({...pod, metadata}).replace(/kube-api-access-[a-z0-9]+/g, 'kube-api-access');
}

it("the drop-in: NSM's Deployment env stores the same pod as the bundled default config, byte for byte", async () => {
  const expected = defaultConfig();
  expect(cluster.webhook.logs().some(l => l['message'] === 'config loaded' && l['configHash'] === expected.hash)).toBe(true);
  const byFile = await cluster.admin.create<Pod>('/api/v1/namespaces/by-file/pods', client());

  await cluster.webhook.stop();
  await cluster.startWebhook({INJECTOR_CONFIG: undefined, ...nsmWebhookEnv()});
  expect(cluster.webhook.logs().find(l => l['message'] === "config built from NSM's webhook settings")).toMatchObject({configHash: expected.hash});
  expect(cluster.webhook.logs().find(l => l['message'] === 'nsm-sidecar-injector started')).toMatchObject({configFrom: 'NSM_* settings'});
  const byNsm = await cluster.admin.create<Pod>('/api/v1/namespaces/by-nsm/pods', client());

  // Both were injected (not a comparison of two untouched pods), by their own process.
  expect(byNsm.spec?.initContainers?.map(c => c.name)).toEqual(['cmd-nsc-init']);
  expect(byNsm.spec?.initContainers?.[0]?.resources?.limits?.['worker.domain/10G']).toBe('1');
  expect(byNsm.spec?.containers[1]?.env?.[0]).toEqual({name: 'NSM_LOG_LEVEL', value: 'TRACE'});
  // (Then a reinvocation, after the ServiceAccount plugin mounted its token into our containers, changes nothing.)
  expect(cluster.webhook.logs().filter(l => l['message'] === 'admission decision' && l['namespace'] === 'by-nsm').map(l => l['decision'])).toEqual(['injected', 'skipped']);
  expect(comparable(byNsm)).toBe(comparable(byFile));
});

describe("the switch, with NSM's webhook configuration still registered", () => {
  const WEBHOOKS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
  const names = (cs: Container[] | undefined): string[] => (cs ?? []).map(c => c.name);
  const ask = {[NSM_ANNOTATION]: 'kernel://icmp-responder/nsm-1'};
  const pod = (name: string): Pod => ({apiVersion: 'v1', kind: 'Pod', metadata: {name, annotations: ask}, spec: {containers: [{name: 'app', image: 'alpine:3.20'}]}});
  const ours = (name: string) => cluster.webhook.logs().filter(l => l['message'] === 'admission decision' && l['namespace'] === 'switch' && l['name'] === name);
  let nsm: FakeNsmWebhook;
  beforeAll(async () => {
    nsm = await startFakeNsmWebhook();
    await cluster.namespace('switch');
    await cluster.admin.create(WEBHOOKS, nsmWebhookConfiguration(nsm, 'switch'));
    await eventually("NSM's webhook to be called", async () => {
      const probe = await cluster.admin.create<Pod>('/api/v1/namespaces/switch/pods', pod('probe'), {dryRun: true});
      return probe.metadata?.annotations?.[STATUS_ANNOTATION] === undefined && names(probe.spec?.containers).includes('cmd-nsc') ? true : undefined;
    });
  });
  afterAll(async () => {
    await cluster.admin.delete(`${WEBHOOKS}/nsm-mutating-webhook`).catch(() => undefined);
    await nsm?.close();
  });

  it("NSM's webhook, whose configuration sorts first, injects; ours recognises its containers and adds nothing", async () => {
    const stored = await cluster.admin.create<Pod>('/api/v1/namespaces/switch/pods', pod('both'));
    expect(names(stored.spec?.initContainers)).toEqual(['cmd-nsc-init']);
    expect(names(stored.spec?.containers)).toEqual(['app', 'cmd-nsc']);
    expect(stored.spec?.volumes?.filter(v => v.name === 'nsm-socket')).toHaveLength(1);
    expect(stored.metadata?.annotations?.[STATUS_ANNOTATION]).toBeUndefined();
    // (Called again after the ServiceAccount plugin mounted its token into NSM's containers: the same answer.)
    expect(new Set(ours('both').map(l => `${String(l['decision'])}/${String(l['reason'])}`))).toEqual(new Set(['skipped/already-injected']));

    // A Deployment annotated NSM's way: NSM injects its template; ours neither injects nor copies the request
    // (its pods would then ask NSM's webhook for a second copy).
    const deployment = await cluster.admin.create<{spec: {template: PodTemplateSpec}}>('/apis/apps/v1/namespaces/switch/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {name: 'legacy', annotations: ask},
      spec: {selector: {matchLabels: {app: 'legacy'}}, template: {metadata: {labels: {app: 'legacy'}}, spec: {containers: [{name: 'app', image: 'alpine:3.20'}]}}},
    });
    expect(names(deployment.spec.template.spec?.containers)).toEqual(['app', 'cmd-nsc']);
    expect(deployment.spec.template.metadata?.annotations).toBeUndefined();
    expect(new Set(ours('legacy').map(l => `${String(l['decision'])}/${String(l['reason'])}`))).toEqual(new Set(['skipped/already-injected']));
  });

  it("once NSM's configuration is deleted (docs/migrating-from-nsm.md's command, with kubectl), ours injects", async () => {
    const binaries = await ensureControlPlaneBinaries();
    const kubectl = existsSync(join(binaries.dir, 'kubectl')) ? join(binaries.dir, 'kubectl') : 'kubectl';
    const command = blockWith('docs/migrating-from-nsm.md', 'kubectl delete mutatingwebhookconfiguration').text.trim();
    expect(command).toBe('kubectl delete mutatingwebhookconfiguration nsm-mutating-webhook');
    const printed = execFileSync('sh', ['-ec', command.replace(/^kubectl /, `${kubectl} `)], {encoding: 'utf8', env: {...process.env, KUBECONFIG: cluster.cp.kubeconfigPath}});
    expect(printed.trim()).toBe('mutatingwebhookconfiguration.admissionregistration.k8s.io "nsm-mutating-webhook" deleted');
    const stored = await eventually('our webhook alone to inject', async () => {
      await cluster.admin.delete('/api/v1/namespaces/switch/pods/after').catch(() => undefined);
      const created = await cluster.admin.create<Pod>('/api/v1/namespaces/switch/pods', pod('after'));
      return created.metadata?.annotations?.[STATUS_ANNOTATION] !== undefined ? created : undefined;
    });
    expect(names(stored.spec?.initContainers)).toEqual(['cmd-nsc-init']);
    expect(names(stored.spec?.containers)).toEqual(['app', 'cmd-nsc']);
  });
});
