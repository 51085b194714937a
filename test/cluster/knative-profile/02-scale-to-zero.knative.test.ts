/**
 * Knative item 2: scale to zero on the admission path. Once the function has scaled to zero, a
 * Deployment of 20 annotated replicas is created: its own CREATE is the first admission call and pays
 * the cold start (Traefik, Knative's activator holding the request, a new pod, the function loading);
 * then every one of its 20 pods must be injected, none admitted without sidecars. Figures: the cold
 * admission's latency, the time to zero, and the warm p50/p99 of an admission (a pod's dry-run
 * CREATE, end to end through the apiserver), which says what the webhook's timeoutSeconds must cover.
 */
import type {Pod} from 'kubernetes-types/core/v1';
import {admin, figure, until, webhookFailOpenCount} from '../support/cluster';
import {NOWHERE, annotatedPod, deleteNamespace, deployment, dryRunPod, freshNamespace, isInjected, podsOf} from '../support/workloads';
import {ensureKnativeProfile, percentile, revisionPods, scaledToZero} from './support';

let ns = '';

beforeAll(async () => {
  await ensureKnativeProfile();
  ns = await freshNamespace('knative-cold');
});

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

test('from zero, a Deployment of 20 annotated replicas: the cold admission succeeds and all 20 pods are injected', async () => {
  const zeroMs = await scaledToZero();
  figure('knative: waited for scale to zero (suite settings: retention 0 s, window 6 s)', zeroMs / 1000, 's');
  expect(await revisionPods()).toHaveLength(0);
  const failOpenBefore = await webhookFailOpenCount();

  const t0 = Date.now();
  await admin().create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('cold', {replicas: 20, nodeSelector: NOWHERE}));
  const coldMs = Date.now() - t0;
  // Reported, not asserted: had it taken longer than the webhook's timeoutSeconds (20), the apiserver
  // would have failed open, which the fail-open count below catches.
  figure('knative: cold admission (Deployment CREATE from zero, end to end)', coldMs / 1000, 's');

  const pods = await until('20 pods of the Deployment', async () => {
    const list = await podsOf(ns, 'app=cold');
    return list.length >= 20 ? list : undefined;
  }, 180_000, 1000);
  figure('knative: Deployment CREATE to its 20 pods created', (Date.now() - t0) / 1000, 's');
  const missed = pods.filter(p => !isInjected(p)).map(p => p.metadata?.name);
  expect(missed).toEqual([]);
  expect(await webhookFailOpenCount()).toBe(failOpenBefore);
  figure('knative: Revision pods after the burst', (await revisionPods()).length, 'pods');
});

test('warm: the p50 and p99 of an admission through Traefik and Knative', async () => {
  const failOpenBefore = await webhookFailOpenCount();
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = process.hrtime.bigint();
    const pod = await dryRunPod(ns, 'warm-');
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    expect(isInjected(pod)).toBe(true);
  }
  figure('knative: warm admission p50 (dry-run pod CREATE, end to end, 200 sequential)', Math.round(percentile(times, 50) * 10) / 10, 'ms');
  figure('knative: warm admission p99', Math.round(percentile(times, 99) * 10) / 10, 'ms');
  expect(await webhookFailOpenCount()).toBe(failOpenBefore);
});

test('a second cold start: one pod created after the function scaled to zero again is injected', async () => {
  const zeroMs = await scaledToZero();
  figure('knative: second wait for scale to zero', zeroMs / 1000, 's');
  const failOpenBefore = await webhookFailOpenCount();
  const t0 = Date.now();
  const pod = await admin().create<Pod>(`/api/v1/namespaces/${ns}/pods`, annotatedPod('cold-single'));
  figure('knative: cold admission (a single pod CREATE from zero)', (Date.now() - t0) / 1000, 's');
  expect(isInjected(pod)).toBe(true);
  expect(await webhookFailOpenCount()).toBe(failOpenBefore);
});
