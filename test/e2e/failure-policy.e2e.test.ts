/**
 * What the apiserver does when the function is down, with the failurePolicy the manifests ship
 * (Ignore) and with Fail; excluded namespaces create pods either way.
 */
import type {Container, Pod} from 'kubernetes-types/core/v1';
import {createDefaultServiceAccount} from './harness/controlplane';
import {isStatus} from './harness/kube';
import {eventually, startCluster, type Cluster} from './support/cluster';
import {collectionPath} from './support/manifests';

const NSM = 'networkservicemesh.io';
const names = (cs: Container[] | undefined): string[] => (cs ?? []).map(c => c.name);
const pod = (name: string): Pod => ({apiVersion: 'v1', kind: 'Pod', metadata: {name, annotations: {[NSM]: 'kernel://a/nsm-1'}}, spec: {containers: [{name: 'app', image: 'alpine'}]}});

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
  await cluster.namespace('apps');
  await createDefaultServiceAccount(cluster.admin, 'kube-system');
  await cluster.webhook.stop();
});
afterAll(async () => cluster?.stop());

it('ships failurePolicy Ignore: with the function down, the pod is created without sidecar', async () => {
  expect((cluster.webhookConfig['webhooks'] as Array<{failurePolicy: string}>)[0]?.failurePolicy).toBe('Ignore');
  const created = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('ignored'));
  expect(names(created.spec?.containers)).toEqual(['app']);
});

it('with failurePolicy Fail, the apiserver refuses pods in opted-in namespaces but not in excluded ones', async () => {
  const path = `${collectionPath(cluster.webhookConfig)}/${cluster.webhookConfig.metadata.name}`;
  await cluster.admin.patch(path, [{op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Fail'}], {patchType: 'json'});
  const error = await eventually('the Fail policy to apply', async () => {
    const e = await cluster.admin.create('/api/v1/namespaces/apps/pods', pod('refused'), {dryRun: true}).then(() => undefined, (x: unknown) => x);
    return e;
  });
  expect(isStatus(error, 500)).toBe(true);
  expect(String(error)).toMatch(/failed calling webhook "sidecar-injector\.networkservicemesh\.io"/);
  const excluded = await cluster.admin.create<Pod>('/api/v1/namespaces/kube-system/pods', pod('system'));
  expect(names(excluded.spec?.containers)).toEqual(['app']);

  // And once the function is back, pods are injected again.
  await cluster.startWebhook();
  const injected = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('back'));
  expect(names(injected.spec?.containers)).toEqual(['app', 'cmd-nsc']);
});
