/**
 * Knative item 4: Skaffold's default profile (knative) against this cluster, as docs/deploy.md tells a
 * developer: `skaffold run` and `skaffold delete`, then a bounded `skaffold dev` that sees a source edit
 * rebuilt and redeployed as a new Revision. `--default-repo=dev.local`: an image name without a
 * registry is a Docker Hub name to Knative, which would try to resolve its digest there (kind users
 * pass kind.local the same way). The nsm-cluster profile (activated by the kube-context) loads each
 * built image into the node. `skaffold dev` runs in a copy of the repository.
 */
import {appendFileSync, cpSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {figure, kubectl, until} from '../support/cluster';
import {injectorGone} from '../support/injector';
import {REPO, runSkaffold as run, skaffold, stopSkaffold} from '../support/skaffold';
import {deleteNamespace, freshNamespace, injectsNow} from '../support/workloads';
import {knativeOverlay, ksvc, ksvcReady} from './support';

const DEFAULT_REPO = '--default-repo=dev.local';
let ns = '';

/** Everything Skaffold deployed gone, the bridge Service in Traefik's namespace included. */
const gone = (): Promise<true | undefined> => injectorGone([['traefik', 'service', 'nsm-sidecar-injector']]);
const injects = (): Promise<true | undefined> => injectsNow(ns);

beforeAll(async () => {
  // Skaffold deploys from nothing (the earlier files installed the profile with kubectl).
  await kubectl(['delete', '-k', knativeOverlay(), '--ignore-not-found', '--wait=true', '--timeout=180s']);
  await until('the injector to be gone', gone, 180_000, 1000);
  ns = await freshNamespace('knative-skaffold');
});

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

test('skaffold run (the knative profile) builds, loads and deploys a Ready Knative Service that injects; skaffold delete removes it', async () => {
  const result = await run(['run', DEFAULT_REPO, '--cache-artifacts=false']);
  expect({code: result.code, tail: result.output.slice(-3000)}).toMatchObject({code: 0});
  figure('knative: skaffold run (build from docker cache, load, deploy, Knative Service Ready)', result.seconds, 's');
  expect(result.output).toContain('[load-image] loaded dev.local/nsm-sidecar-injector:');
  // skaffold.yaml's after-deploy hook waited for the Knative Service to be Ready.
  const k = await ksvc();
  expect(k?.spec.template.spec.containers[0]?.image).toMatch(/^dev\.local\/nsm-sidecar-injector:[0-9a-f]{64}$/);
  await ksvcReady(60_000);
  await until('an annotated pod injected', injects, 120_000, 2000);

  const deleted = await run(['delete']);
  expect({code: deleted.code, tail: deleted.output.slice(-2000)}).toMatchObject({code: 0});
  await until('everything Skaffold deployed to be gone', gone, 180_000, 1000);
});

test('skaffold dev: a source edit becomes a new Revision that injects; Ctrl-C removes everything', async () => {
  const copy = mkdtempSync(join(tmpdir(), 'nsm-skaffold-knative-'));
  for (const entry of ['skaffold.yaml', 'Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'functions', 'manifests', 'scripts/cluster']) {
    cpSync(join(REPO, entry), join(copy, entry), {recursive: true});
  }
  const dev = skaffold(['dev', DEFAULT_REPO], copy);
  let exitCode: number | null | string = 'not stopped';
  const withOutput = async <T>(wait: Promise<T>): Promise<T> =>
    wait.catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nskaffold dev said (end):\n${dev.output().slice(-4000)}`);
    });
  try {
    const t0 = Date.now();
    await withOutput(until('skaffold dev to deploy and watch', async () => (/Watching for changes/.test(dev.output()) ? true : undefined), 400_000, 1000));
    figure('knative: skaffold dev first deploy Ready and watching', (Date.now() - t0) / 1000, 's');
    const first = await ksvcReady(60_000);

    const t1 = Date.now();
    appendFileSync(join(copy, 'functions', 'index.ts'), `\n// An edit made by test/cluster/knative-profile/04-skaffold.knative.test.ts at ${new Date().toISOString()}.\n`);
    const second = await withOutput(until('a new Ready Revision', async () => {
      const revision = await ksvcReady(5_000).catch(() => undefined);
      return revision !== undefined && revision !== first ? revision : undefined;
    }, 400_000, 1000));
    figure('knative: skaffold dev source edit to a new Ready Revision', (Date.now() - t1) / 1000, 's');
    expect(second).not.toBe(first);
    await until('an annotated pod injected by the new Revision', injects, 120_000, 2000);
  } finally {
    // Never left running (deploying, watching) past this test, whatever happened above.
    exitCode = await stopSkaffold(dev);
    rmSync(copy, {recursive: true, force: true});
  }
  // Checked after the finally block, so that a failure above is reported as itself.
  expect(exitCode).toBe(0);
  await until('everything skaffold dev deployed to be gone', gone, 180_000, 1000);
}, 1_200_000);
