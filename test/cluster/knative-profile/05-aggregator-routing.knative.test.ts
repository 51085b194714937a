/**
 * Knative item 5: the same path with the apiserver's aggregator routing on (`--enable-aggregator-routing=true`,
 * k3s's default). The apiserver then dials a ready endpoint of the webhook's Service, taken from its
 * EndpointSlices by port name, instead of its cluster IP, and refuses an ExternalName Service outright.
 * The bridge Service works unchanged; the earlier design's ExternalName target is refused with the
 * apiserver's own error. The apiserver is restarted with the flag for this file and without it after.
 */
import {execFile} from 'node:child_process';
import {resolve} from 'node:path';
import {until, webhookFailOpenCount} from '../support/cluster';
import {annotatedPod, deleteNamespace, dryRunPod, freshNamespace, isInjected} from '../support/workloads';
import {deleteExternalNameControl, ensureKnativeProfile, throughExternalNameControl} from './support';

const CLUSTER_SH = resolve(__dirname, '../../../scripts/cluster/cluster.sh');
let ns = '';

/** `cluster.sh apiserver FLAG...`: restarts kube-apiserver with these extra flags, waits until it is ready. */
function restartApiserver(...flags: string[]): Promise<void> {
  return new Promise((done, fail) => {
    execFile(CLUSTER_SH, ['apiserver', ...flags], (error, _stdout, stderr) => (error ? fail(new Error(`cluster.sh apiserver ${flags.join(' ')}: ${stderr}`)) : done()));
  });
}

beforeAll(async () => {
  await ensureKnativeProfile();
  ns = await freshNamespace('knative-aggregator');
  // cluster.sh waits until the restarted apiserver is ready.
  await restartApiserver('--enable-aggregator-routing=true');
});

afterAll(async () => {
  await deleteExternalNameControl();
  if (ns) await deleteNamespace(ns);
  // As `up` started it, for whatever runs next.
  await restartApiserver();
});

test('with aggregator routing, the apiserver reaches the function through the bridge endpoint: pods injected, nothing failed open', async () => {
  const failOpenBefore = await webhookFailOpenCount();
  const pod = await until('an annotated pod injected', async () => {
    const p = await dryRunPod(ns, 'routed');
    return isInjected(p) ? p : undefined;
  }, 120_000, 2000);
  expect(pod.spec?.containers.map(c => c.name)).toContain('cmd-nsc');
  expect(await webhookFailOpenCount()).toBe(failOpenBefore);
});

test("with aggregator routing, the earlier design's ExternalName target is refused by the apiserver itself", async () => {
  const {pod, apiserverSaid} = await throughExternalNameControl(ns, annotatedPod('control'));
  expect(isInjected(pod)).toBe(true);
  expect(apiserverSaid).toMatch(/unsupported service type \\?"ExternalName/);
});
