/**
 * Item 6: Skaffold against this cluster, as docs/deploy.md tells a developer: `skaffold run -p
 * deployment` and `skaffold delete -p deployment`, then a bounded `skaffold dev -p deployment` that
 * sees a source edit, rebuilds and redeploys. Skaffold v2.16.1 (scripts/cluster/build-skaffold.sh) with
 * its local docker builder on the harness's dockerd; skaffold.yaml's nsm-cluster profile (activated by
 * the kube-context) loads each built image into the node. `skaffold dev` runs in a copy of the
 * repository, so the edit never touches the checkout.
 */
import {appendFileSync, cpSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Deployment} from 'kubernetes-types/apps/v1';
import {figure, kubectl, kubectlJson, until} from './support/cluster';
import {INJECTOR_NAMESPACE, injectorGone, injectorPods, overlay} from './support/injector';
import {REPO, runSkaffold as run, skaffold, stopSkaffold} from './support/skaffold';
import {deleteNamespace, freshNamespace, injectsNow} from './support/workloads';

let ns = '';

async function deployedImage(): Promise<string | undefined> {
  const d = await kubectlJson<Deployment>(['-n', INJECTOR_NAMESPACE, 'get', 'deploy', 'nsm-sidecar-injector']).catch(() => undefined);
  return d?.spec?.template.spec?.containers[0]?.image;
}

async function allReady(image: string): Promise<boolean> {
  const pods = await injectorPods();
  return pods.length === 2 && pods.every(p =>
    p.spec?.containers[0]?.image === image && p.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True');
}

const gone = (): Promise<true | undefined> => injectorGone();

beforeAll(async () => {
  // Skaffold deploys from nothing (the earlier files installed the injector with kubectl).
  await kubectl(['delete', '-k', overlay(), '--ignore-not-found', '--wait=true', '--timeout=180s']);
  await until('the injector namespace to be gone', gone, 180_000, 1000);
  ns = await freshNamespace('skaffold');
});

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

test("skaffold diagnose: the deployment profile selects no Knative resource, the default profile does", async () => {
  const deployment = await run(['diagnose', '-p', 'deployment', '--yaml-only']);
  const knative = await run(['diagnose', '--yaml-only']);
  expect([deployment.code, knative.code]).toEqual([0, 0]);
  // The default (knative) profile lets Skaffold follow images in a Knative Service; the deployment
  // profile's patch removes that selector, so its rendered config names no Knative kind at all.
  expect(knative.output).toContain('groupKind: Service.serving.knative.dev');
  expect(deployment.output).toContain('kind: Config');
  expect(deployment.output).not.toContain('serving.knative.dev');
});

test('skaffold run -p deployment builds, loads and deploys; pods are injected; skaffold delete removes it', async () => {
  // No artifact cache: the image is built (from docker's layer cache) and the build hook loads it,
  // whatever an earlier run in this cluster left.
  const result = await run(['run', '-p', 'deployment', '--cache-artifacts=false']);
  expect({code: result.code, tail: result.output.slice(-3000)}).toMatchObject({code: 0});
  figure('skaffold run -p deployment (build from docker cache, load, deploy, stabilize)', result.seconds, 's');
  // The nsm-cluster profile was active: its build hook loaded the image into the node.
  expect(result.output).toContain('[load-image] loaded nsm-sidecar-injector:');
  const image = await deployedImage();
  expect(image).toMatch(/^nsm-sidecar-injector:[0-9a-f]{64}$/);
  await until('both injector pods Ready with the image Skaffold built', async () => ((await allReady(image!)) ? true : undefined), 120_000);
  await until('an annotated pod injected', () => injectsNow(ns), 60_000);

  const deleted = await run(['delete', '-p', 'deployment']);
  expect({code: deleted.code, tail: deleted.output.slice(-2000)}).toMatchObject({code: 0});
  await until('everything Skaffold deployed to be gone', gone, 180_000, 1000);
});

test('skaffold dev -p deployment: a source edit is rebuilt and redeployed; Ctrl-C removes it', async () => {
  // Bounded: each wait below has its own limit, and Ctrl-C ends skaffold dev whatever happened.
  const copy = mkdtempSync(join(tmpdir(), 'nsm-skaffold-dev-'));
  for (const entry of ['skaffold.yaml', 'Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'functions', 'manifests', 'scripts/cluster']) {
    cpSync(join(REPO, entry), join(copy, entry), {recursive: true});
  }
  const dev = skaffold(['dev', '-p', 'deployment'], copy);
  let exitCode: number | null | string = 'not stopped';
  const withOutput = async <T>(wait: Promise<T>): Promise<T> =>
    wait.catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nskaffold dev said (end):\n${dev.output().slice(-4000)}`);
    });
  try {
    const t0 = Date.now();
    // Only edits made once Skaffold watches count: its watcher takes the files as they are then.
    await withOutput(until('skaffold dev to deploy and watch', async () => (/Watching for changes/.test(dev.output()) ? true : undefined), 400_000, 1000));
    figure('skaffold dev -p deployment: first deploy stabilized and watching', (Date.now() - t0) / 1000, 's');
    const first = await deployedImage();
    expect(first).toMatch(/^nsm-sidecar-injector:/);

    const t1 = Date.now();
    const before = dev.output().length;
    // Unique content, so no artifact cache can have it: a real rebuild.
    appendFileSync(join(copy, 'functions', 'index.ts'), `\n// An edit made by test/cluster/06-skaffold.cluster.test.ts at ${new Date().toISOString()}.\n`);
    const second = await withOutput(until('skaffold dev to redeploy a new image', async () => {
      const image = await deployedImage();
      return image !== undefined && image !== first ? image : undefined;
    }, 400_000, 1000));
    await until('both pods Ready with the new image', async () => ((await allReady(second)) ? true : undefined), 180_000);
    figure('skaffold dev: source edit to redeployed pods Ready', (Date.now() - t1) / 1000, 's');
    // The rebuilt image went through the nsm-cluster profile's build hook into the node.
    expect(dev.output().slice(before)).toContain('[load-image] loaded nsm-sidecar-injector:');
    await until('an annotated pod injected by the new pods', () => injectsNow(ns), 60_000);
  } finally {
    // Never left running (deploying, watching) past this test, whatever happened above.
    exitCode = await stopSkaffold(dev);
    rmSync(copy, {recursive: true, force: true});
  }
  // Checked after the finally block, so that a failure above is reported as itself.
  expect(exitCode).toBe(0);
  // skaffold dev cleans up what it deployed on exit.
  await until('everything skaffold dev deployed to be gone', gone, 180_000, 1000);
}, 1_200_000);
