/**
 * Item 1: cert-manager (its real controller and cainjector, its CRDs) and `kubectl apply -k` of the
 * deployment profile with the image built from our Dockerfile. Asserts on what the cluster stores
 * and runs: Certificates Ready, the caBundle written by the cainjector, the injector's pods Running and
 * Ready in a namespace that enforces Pod Security `restricted`, and the first pod injected.
 */
import type {Pod} from 'kubernetes-types/core/v1';
import type {CustomResourceDefinition} from 'kubernetes-types/apiextensions/v1';
import type {MutatingWebhookConfiguration} from 'kubernetes-types/admissionregistration/v1';
import type {Namespace, Secret} from 'kubernetes-types/core/v1';
import {admin, figure, kubectl, kubectlJson, until} from './support/cluster';
import {INJECTOR_NAMESPACE, applyInjector, injectorPods, overlay, waitInjectorReady} from './support/injector';
import {APP_IMAGE, NETWORK_SERVICES, NOWHERE, NSM_ANNOTATION, deleteNamespace, freshNamespace, isInjected} from './support/workloads';

interface Certificate {
  metadata: {name: string};
  status?: {conditions?: {type: string; status: string}[]};
}

let apps = '';

beforeAll(async () => {
  // From nothing, so that the install is measured whole even on a cluster kept from an earlier run.
  await kubectl(['delete', '-k', overlay(), '--ignore-not-found', '--wait=true', '--timeout=180s']);
  apps = await freshNamespace('install');
});

afterAll(async () => {
  if (apps) await deleteNamespace(apps);
});

test("cert-manager's CRDs are installed and established", async () => {
  for (const crd of ['certificates.cert-manager.io', 'issuers.cert-manager.io', 'certificaterequests.cert-manager.io']) {
    const got = await kubectlJson<CustomResourceDefinition>(['get', 'crd', crd]);
    expect(got.status?.conditions?.find(c => c.type === 'Established')?.status).toBe('True');
  }
});

test('kubectl apply -k: certificates Ready, caBundle injected, two pods Ready under restricted Pod Security, pods injected', async () => {
  const t0 = Date.now();
  await applyInjector();

  // Annotated pods created from the moment of the apply on: the first one stored with sidecars marks
  // the injector as serving (the earlier ones are admitted without: failurePolicy Ignore).
  const firstInjected = until('the first injected pod', async () => {
    const pod = await admin().create<Pod>(`/api/v1/namespaces/${apps}/pods`, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {generateName: 'first-', annotations: {[NSM_ANNOTATION]: NETWORK_SERVICES}},
      spec: {nodeSelector: NOWHERE, containers: [{name: 'app', image: APP_IMAGE}]},
    });
    return isInjected(pod) ? Date.now() : undefined;
  }, 300_000, 250);

  await waitInjectorReady(240);
  const ready = Date.now();
  const injectedAt = await firstInjected;
  figure('kubectl apply -k to injector rollout complete', (ready - t0) / 1000, 's');
  figure('kubectl apply -k to the first injected pod', (injectedAt - t0) / 1000, 's');

  const certificates = await kubectlJson<{items: Certificate[]}>(['-n', INJECTOR_NAMESPACE, 'get', 'certificates']);
  expect(certificates.items.map(c => c.metadata.name).sort()).toEqual(['nsm-sidecar-injector-ca', 'nsm-sidecar-injector-serving']);
  for (const c of certificates.items) expect(c.status?.conditions?.find(x => x.type === 'Ready')?.status).toBe('True');

  // The caBundle is the CA of the serving certificate's Secret, and the cainjector is who wrote it.
  const secret = await kubectlJson<Secret>(['-n', INJECTOR_NAMESPACE, 'get', 'secret', 'nsm-sidecar-injector-tls']);
  const webhook = await kubectlJson<MutatingWebhookConfiguration>(['get', 'mutatingwebhookconfiguration', 'nsm-sidecar-injector', '--show-managed-fields']);
  expect(webhook.webhooks?.[0]?.clientConfig.caBundle).toBe(secret.data?.['ca.crt']);
  const writers = (webhook.metadata?.managedFields ?? []).filter(m => JSON.stringify(m.fieldsV1).includes('f:caBundle')).map(m => m.manager);
  expect(writers).toEqual(['cainjector']);

  const pods = await injectorPods();
  expect(pods).toHaveLength(2);
  for (const pod of pods) {
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.conditions?.find(c => c.type === 'Ready')?.status).toBe('True');
    expect(pod.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  }
});

test('the namespace enforces restricted: the injector runs under it, and a privileged pod is refused', async () => {
  const ns = await kubectlJson<Namespace>(['get', 'namespace', INJECTOR_NAMESPACE]);
  expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  const refused = admin().create(`/api/v1/namespaces/${INJECTOR_NAMESPACE}/pods`, {
    apiVersion: 'v1', kind: 'Pod', metadata: {name: 'not-restricted'},
    spec: {containers: [{name: 'app', image: APP_IMAGE}]},
  });
  await expect(refused).rejects.toThrow(/violates PodSecurity "restricted:latest"/);
});
