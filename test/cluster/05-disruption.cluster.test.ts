/**
 * Item 5: disruption. While a Deployment scales from 0 to 30 (and a stream of bare pods is created),
 * one injector pod is deleted; then, as `kubectl drain` would, both are evicted one after the other
 * through the Eviction API, which the shipped PodDisruptionBudget must hold back until the replacement
 * is Ready. Counted: pods stored without sidecars, and the apiserver's count of webhook calls that
 * failed open. Target, with the shipped replicas, PDB, readiness probe and SHUTDOWN_DELAY_SECONDS: 0.
 *
 * Why a bare-pod stream besides the Deployment: a bare pod has no controller to create it again, so
 * it is the one a failed admission would lose for good. With the shipped admission policy (the
 * deployment profile's ValidatingAdmissionPolicy) a pod that asks and reaches no injector is refused
 * rather than stored without sidecars: the stream counts refusals as errors, which must also be 0.
 */
import type {Pod} from 'kubernetes-types/core/v1';
import type {Deployment} from 'kubernetes-types/apps/v1';
import {admin, figure, kubectl, kubectlJson, sleep, until, webhookFailOpenCount} from './support/cluster';
import {INJECTOR_NAMESPACE, injectorPods, waitInjectorReady} from './support/injector';
import {startPodStream, type StreamResult} from './support/stream';
import {NOWHERE, apply, deployment, injectorAndNamespace, isInjected} from './support/workloads';
import {isStatus} from '../e2e/harness/kube';

const namespace = injectorAndNamespace('disruption');

/** Scales `name` from 0 to 30, one replica every 400 ms (12 s: the length of a pod's shutdown and replacement). */
async function scaleUp(name: string): Promise<void> {
  await apply(namespace(), deployment(name, {replicas: 0, nodeSelector: NOWHERE}));
  for (let replicas = 1; replicas <= 30; replicas++) {
    await kubectl(['-n', namespace(), 'scale', `deploy/${name}`, `--replicas=${replicas}`]);
    await sleep(400);
  }
}

/** Resolves with the time at which as many injector pods as the Deployment wants, other than `gone`, are Ready. */
function recovered(gone: string): Promise<number> {
  return until('the injector pods Ready again', async () => {
    const wanted = (await kubectlJson<Deployment>(['-n', INJECTOR_NAMESPACE, 'get', 'deploy', 'nsm-sidecar-injector'])).spec?.replicas ?? 2;
    const pods = (await injectorPods()).filter(p => p.metadata!.name !== gone);
    const ready = pods.filter(p => p.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True');
    return ready.length >= wanted ? Date.now() : undefined;
  }, 180_000, 250);
}

async function uninjectedPods(selector: string, expected: number): Promise<string[]> {
  const pods = await until(`${expected} pods of ${selector}`, async () => {
    const items = (await kubectlJson<{items: Pod[]}>(['-n', namespace(), 'get', 'pods', '-l', selector])).items;
    return items.length === expected ? items : undefined;
  }, 60_000);
  return pods.filter(p => !isInjected(p)).map(p => p.metadata!.name!);
}

/** POST .../eviction, as kubectl drain does; resolves true when allowed, false when the PDB refuses (429). */
async function evict(name: string): Promise<boolean> {
  try {
    await admin().create(`/api/v1/namespaces/${INJECTOR_NAMESPACE}/pods/${name}/eviction`, {
      apiVersion: 'policy/v1', kind: 'Eviction', metadata: {name, namespace: INJECTOR_NAMESPACE},
    });
    return true;
  } catch (error) {
    if (isStatus(error, 429)) return false;
    throw error;
  }
}

/**
 * Runs `disrupt` while a stream of bare pods is created and Deployment `app` scales 0 -> 30, then
 * counts (and reports) pods stored without sidecars and the webhook calls the apiserver let through
 * failed; both must be 0.
 */
async function countDuring(what: string, app: string, disrupt: () => Promise<void>): Promise<void> {
  const failOpenBefore = await webhookFailOpenCount();
  const stream = startPodStream(namespace(), 250);
  let result: StreamResult;
  try {
    await sleep(2000);
    await Promise.all([disrupt(), scaleUp(app)]);
    await waitInjectorReady();
    await sleep(3000);
  } finally {
    result = await stream.stop();
  }
  const uninjected = [...result.uninjected, ...(await uninjectedPods(`app=${app}`, 30))];
  const failedOpen = (await webhookFailOpenCount()) - failOpenBefore;
  figure(`${what}: pods created`, result.created + 30, 'pods');
  figure(`${what}: pods admitted without sidecars`, uninjected.length, 'pods');
  figure(`${what}: webhook calls failed open (apiserver)`, failedOpen, 'calls');
  expect(result.errors).toEqual([]);
  expect(uninjected).toEqual([]);
  expect(failedOpen).toBe(0);
}

test('deleting one injector pod while a Deployment scales 0 -> 30: no pod without sidecars, no failed call', async () => {
  const [victim] = await injectorPods();
  await countDuring('pod deletion', 'burst', async () => {
    const t0 = Date.now();
    await kubectl(['-n', INJECTOR_NAMESPACE, 'delete', 'pod', victim!.metadata!.name!, '--wait=false']);
    figure('pod deletion: until a replacement is Ready', ((await recovered(victim!.metadata!.name!)) - t0) / 1000, 's');
  });
});

test('drain-style eviction of both injector pods: the PDB holds the second back until a replacement is Ready; no pod without sidecars', async () => {
  const [first, second] = await injectorPods();
  await countDuring('drain', 'drain', async () => {
    const t0 = Date.now();
    expect(await evict(first!.metadata!.name!)).toBe(true);
    // The second eviction is refused while only one replica is available, and retried as drain does.
    expect(await evict(second!.metadata!.name!)).toBe(false);
    let refusals = 1;
    await until('the PDB to allow the second eviction', async () => {
      if (await evict(second!.metadata!.name!)) return true;
      refusals++;
      return undefined;
    }, 180_000, 1000);
    figure('drain: the second eviction held back by the PDB for', (Date.now() - t0) / 1000, 's');
    figure('drain: eviction attempts refused by the PDB (1 s apart)', refusals, 'attempts');
  });
});
