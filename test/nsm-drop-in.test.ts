/**
 * The function with NSM's own webhook settings in its environment (a drop-in for NSM's Deployment):
 * which config it serves, what it logs, and what it does when those settings are broken.
 */
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import type {Container, Pod} from 'kubernetes-types/core/v1';
import {parseAllDocuments} from 'yaml';
import {configFromNsmEnv} from '../functions/config/nsm-env';
import {applyPatch, deepClone, type Operation} from 'fast-json-patch';
import {createRuntime, type Runtime} from '../functions/runtime';
import {annotatedPod, DEFAULT_CONFIG_TEXT, decodePatch, defaultConfig, nsmWebhookEnv, review} from './support/fixtures';

type Line = Record<string, unknown>;
const runtimes: Runtime[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const r of runtimes.splice(0)) r.close();
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true});
});

function start(env: Record<string, string>): {runtime: Runtime; lines: () => Line[]} {
  const raw: string[] = [];
  const runtime = createRuntime({env, logWrite: line => raw.push(line), watch: false});
  runtimes.push(runtime);
  return {runtime, lines: () => raw.map(l => JSON.parse(l) as Line)};
}

const get = async (runtime: Runtime, path: string) => {
  const answer = await runtime.handle({method: 'GET', path, body: undefined});
  return {status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown>};
};

async function injectedPod(runtime: Runtime): Promise<Pod> {
  const pod = annotatedPod();
  const answer = await runtime.handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(review(pod)))}});
  const response = (JSON.parse(answer.body) as {response: {patch?: string}}).response;
  return applyPatch(deepClone(pod), decodePatch(response.patch) as Operation[], true).newDocument as Pod;
}

describe("with NSM's webhook settings and no INJECTOR_CONFIG", () => {
  it('serves the config they describe, says so in the logs, and answers /ready', async () => {
    const {runtime, lines} = start({...nsmWebhookEnv(), LOG_LEVEL: 'info'});
    const expected = defaultConfig().hash;
    expect(await get(runtime, '/ready')).toEqual({status: 200, body: {status: 'ok', configHash: expected}});
    expect(lines().find(l => l['message'] === "config built from NSM's webhook settings")).toMatchObject({
      severity: 'INFO',
      settings: ['NSM_ANNOTATION', 'NSM_LABELS', 'NSM_INIT_CONTAINER_IMAGES', 'NSM_CONTAINER_IMAGES', 'NSM_ENVS'],
      configHash: expected,
    });
    runtime.started({port: 8443, protocol: 'https'});
    expect(lines().find(l => l['message'] === 'nsm-sidecar-injector started')).toMatchObject({configFrom: 'NSM_* settings', configHash: expected});
    const env = (await injectedPod(runtime)).spec?.initContainers?.[0]?.env;
    expect(env?.[0]).toEqual({name: 'NSM_LOG_LEVEL', value: 'TRACE'});
  });

  it('logs what it read differently from how one might expect (a value cut at "=")', () => {
    const {lines} = start({...nsmWebhookEnv(), NSM_ENVS: 'NSM_LOG_LEVEL=TRACE,OPTS=a=b'});
    expect(lines().find(l => l['message'] === "config built from NSM's webhook settings")?.['notes']).toEqual([
      'NSM_ENVS: entry for "OPTS" holds more than one "="; its value is cut to "a", as NSM does',
    ]);
  });

  it('with a setting NSM itself would crash on, serves no config: not ready, reviews refused with 503, the reason logged', async () => {
    const {runtime, lines} = start({...nsmWebhookEnv(), NSM_ENVS: 'NSM_LOG_LEVEL'});
    expect((await get(runtime, '/ready')).status).toBe(503);
    expect((await get(runtime, '/readyz')).status).toBe(503);
    const answer = await runtime.handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(review(annotatedPod())))}});
    expect(answer.status).toBe(503);
    expect(lines().find(l => l['message'] === 'config invalid and no good config to fall back on')).toMatchObject({
      severity: 'ERROR',
      errors: ['NSM_ENVS: entry "NSM_LOG_LEVEL" has no "=" (NSM\'s webhook panics on it); write NAME=VALUE'],
    });
  });
});

describe('INJECTOR_CONFIG wins over NSM settings', () => {
  it('serves the file, and warns that the NSM settings are ignored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-drop-in-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'config.yaml'), DEFAULT_CONFIG_TEXT);
    const {runtime, lines} = start({...nsmWebhookEnv(), INJECTOR_CONFIG: dir});
    expect((await get(runtime, '/healthz')).body['configHash']).toBe(defaultConfig().hash);
    expect(lines().find(l => l['message'] === "NSM's webhook settings ignored: INJECTOR_CONFIG is set and wins")).toMatchObject({
      severity: 'WARNING',
      ignored: ['NSM_ANNOTATION', 'NSM_LABELS', 'NSM_INIT_CONTAINER_IMAGES', 'NSM_CONTAINER_IMAGES', 'NSM_ENVS'],
    });
    expect(lines().some(l => l['message'] === "config built from NSM's webhook settings")).toBe(false);
  });

  it('and without either, the bundled default is served, with no word about NSM', async () => {
    const {runtime, lines} = start({});
    expect((await get(runtime, '/healthz')).body['configHash']).toBe(defaultConfig().hash);
    expect(lines().some(l => String(l['message']).includes('NSM'))).toBe(false);
  });
});

describe('docs/migrating-from-nsm.md', () => {
  it("its kustomization renders the deployment profile with NSM's settings and without INJECTOR_CONFIG, which gives NSM's config", () => {
    const doc = readFileSync('docs/migrating-from-nsm.md', 'utf8');
    const block = /<!-- drop-in kustomization[^>]*-->\n```yaml\n([\s\S]*?)\n```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    // Beside a copy of this repository's manifests/, as the page says.
    const dir = mkdtempSync(join(tmpdir(), 'nsm-drop-in-kustomize-'));
    dirs.push(dir);
    symlinkSync(resolve('manifests'), join(dir, 'manifests'));
    writeFileSync(join(dir, 'kustomization.yaml'), `${block ?? ''}\n`);
    const out = spawnSync('kubectl', ['kustomize', dir], {encoding: 'utf8'});
    expect(out.stderr).toBe('');
    const deployment = parseAllDocuments(out.stdout)
      .map(d => d.toJS() as {kind: string; spec: {template: {spec: {containers: Container[]}}}})
      .find(o => o.kind === 'Deployment');
    const env = deployment?.spec.template.spec.containers.find(c => c.name === 'injector')?.env ?? [];
    expect(env.map(e => e.name)).not.toContain('INJECTOR_CONFIG');
    // The profile's own settings are still there.
    expect(env.map(e => e.name)).toEqual(expect.arrayContaining(['PORT', 'TLS_CERT_DIR', 'SHUTDOWN_DELAY_SECONDS']));
    const values = Object.fromEntries(env.map(e => [e.name, e.value ?? '']));
    const built = configFromNsmEnv(DEFAULT_CONFIG_TEXT, values);
    expect(built.ok && built.value.hash).toBe(defaultConfig().hash);
  });
});
