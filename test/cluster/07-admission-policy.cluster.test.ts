/**
 * Item 7 (issue 17 on the real cluster): the deployment profile's ValidatingAdmissionPolicy while the
 * injector is down. Its Deployment is scaled to 0; then a bare pod that asks for network services is
 * refused with the policy's message, a pod that doesn't ask is created, and an annotated Deployment of
 * 3 stores no pod. Once the injector is back, the ReplicaSet controller's retries create all 3, each
 * injected. Measured: from the injector Ready again to the last of the 3 pods stored.
 */
import {isStatus, type KubeApiError} from '../e2e/harness/kube';
import type {Pod} from 'kubernetes-types/core/v1';
import {admin, figure, kubectl, kubectlJson, sleep, until} from './support/cluster';
import {INJECTOR_NAMESPACE, INJECTOR_SELECTOR, waitInjectorReady} from './support/injector';
import {APP_IMAGE, NETWORK_SERVICES, NOWHERE, NSM_ANNOTATION, apply, deployment, injectorAndNamespace, isInjected, podsOf} from './support/workloads';

const namespace = injectorAndNamespace('policy');

const bare = (name: string, annotations: Record<string, string>): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {name, annotations},
  spec: {nodeSelector: NOWHERE, containers: [{name: 'app', image: APP_IMAGE}]},
});

async function scaleInjector(replicas: number): Promise<void> {
  await kubectl(['-n', INJECTOR_NAMESPACE, 'scale', 'deploy/nsm-sidecar-injector', `--replicas=${replicas}`]);
}

afterAll(async () => {
  // Leave the injector as the other files expect it, whatever happened here.
  await scaleInjector(2);
  await waitInjectorReady();
});

test('injector down: a pod that asks is refused by the policy, others are created; back up, the refused Deployment ends fully injected', async () => {
  await scaleInjector(0);
  // Gone, not just terminating: a terminating pod keeps serving through its SHUTDOWN_DELAY_SECONDS.
  await until('no injector pod left', async () => {
    const pods = await kubectlJson<{items: Pod[]}>(['-n', INJECTOR_NAMESPACE, 'get', 'pods', '-l', INJECTOR_SELECTOR]);
    return pods.items.length === 0 ? true : undefined;
  }, 120_000, 500);

  const refused = await admin()
    .create(`/api/v1/namespaces/${namespace()}/pods`, bare('asks', {[NSM_ANNOTATION]: NETWORK_SERVICES}))
    .then(() => undefined, (e: unknown) => e);
  expect(isStatus(refused, 403)).toBe(true);
  expect((refused as KubeApiError).message).toMatch(
    /ValidatingAdmissionPolicy 'nsm-sidecar-injector' with binding 'nsm-sidecar-injector' denied request: this pod asks for network services/,
  );
  await admin().create(`/api/v1/namespaces/${namespace()}/pods`, bare('plain', {}));

  await apply(namespace(), deployment('client', {replicas: 3, nodeSelector: NOWHERE}));
  await sleep(10_000);
  expect(await podsOf(namespace(), 'app=client')).toEqual([]);

  await scaleInjector(2);
  await waitInjectorReady();
  const ready = Date.now();
  const pods = await until('3 pods of the Deployment', async () => {
    const items = await podsOf(namespace(), 'app=client');
    return items.length === 3 ? items : undefined;
  }, 180_000, 250);
  figure('admission policy: injector Ready again to all 3 refused pods stored (ReplicaSet backoff)', (Date.now() - ready) / 1000, 's');
  expect(pods.filter(p => !isInjected(p)).map(p => p.metadata?.name)).toEqual([]);
});
