/**
 * Golden files, checked through both paths that users have (as Istio does for kube-inject):
 *  - the CLI: `<case>.yaml` (or `.json`) through nsm-inject must print exactly `<case>.yaml.injected`;
 *  - the webhook: each object of `<case>.yaml`, sent as an AdmissionReview over the HTTP handler,
 *    with the returned patch applied (RFC 6902, fast-json-patch), must equal the golden object:
 *    with `workloads: inject-template` (what the CLI always does), the object of `.injected`; with
 *    the config's own mode (by default `pods`: workloads keep their containers), the object of
 *    `<case>.yaml.admitted` where that differs, else of `.injected`.
 * All must then be fixed points. `<case>.config.yaml`, if present, is merged over the default config.
 * Two folders: inject/ (cases written for a feature) and nsm-examples/ (real NSM manifests, sources in
 * its README.md; test/nsm-examples.test.ts checks what their diffs show).
 * Rewrite the golden files with REFRESH_GOLDEN=1; a golden file without its case fails the run.
 */
import {existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {applyPatch, deepClone, type Operation} from 'fast-json-patch';
import {parse, parseAllDocuments} from 'yaml';
import {collectNamespaces, injectManifests, seedOf} from '../functions/cli/documents';
import type {NamespaceSource} from '../functions/kube/namespaces';
import {createHandler} from '../functions/http/handler';
import {silentLogger} from '../functions/ops/log';
import type {VersionedConfig} from '../functions/core/config';
import {configWith, decodePatch, defaultConfig, review} from './support/fixtures';

const DATA = join(__dirname, 'testdata');
const SUITES = ['inject', 'nsm-examples'] as const;
const REFRESH = process.env['REFRESH_GOLDEN'] === '1';
const isCase = (f: string): boolean => (f.endsWith('.yaml') || f.endsWith('.json')) && !f.endsWith('.config.yaml');
const filesOf = (suite: string): string[] => readdirSync(join(DATA, suite));
const cases = SUITES.flatMap(suite => filesOf(suite).filter(isCase).sort().map(name => [suite, name] as const));

function configFor(dir: string, name: string): VersionedConfig {
  const overlay = join(dir, name.replace(/\.(yaml|json)$/, '.config.yaml'));
  return existsSync(overlay) ? configWith(parse(readFileSync(overlay, 'utf8')) as object) : defaultConfig();
}

/** Every object in a manifest stream, with kind: List unpacked. */
function objectsOf(text: string): unknown[] {
  return parseAllDocuments(text, {logLevel: 'error'})
    .map(d => d.toJS() as unknown)
    .filter(o => o !== null)
    .flatMap(o => ((o as {kind?: string}).kind === 'List' ? ((o as {items: unknown[]}).items ?? []) : [o]));
}

/** Namespaces for the webhook path: the case's Namespace manifests, as the apiserver would serve them. */
function namespacesOf(text: string): NamespaceSource {
  const byName = collectNamespaces([text]);
  return {lookup: async name => ({ok: true, meta: byName.get(name) ?? {annotations: {}, labels: {}}})};
}

async function viaWebhook(object: unknown, config: VersionedConfig, namespaces: NamespaceSource): Promise<{object: unknown; patch: Operation[]}> {
  const handle = createHandler({config: () => config, logger: silentLogger, namespaces});
  // The CLI seeds generated values with the object's identity; give the review that uid so that
  // both paths are comparable (a uid is an opaque string to the apiserver).
  const body = Buffer.from(JSON.stringify(review(object, {uid: seedOf(object)})));
  const answer = await handle({method: 'POST', path: '/mutate', body: {bytes: body}});
  expect(answer.status).toBe(200);
  const response = (JSON.parse(answer.body) as {response: {patch?: string}}).response;
  const patch = decodePatch(response.patch) as Operation[];
  return {object: applyPatch(deepClone(object), patch, true).newDocument, patch};
}

/**
 * The config with `workloads: inject-template`, as the CLI forces it, keeping the config's hash so
 * that the webhook's output is comparable with the CLI's byte for byte.
 */
const templateMode = (config: VersionedConfig): VersionedConfig => ({config: {...config.config, workloads: 'inject-template'}, hash: config.hash});

describe.each(cases)('golden %s/%s', (suite, name) => {
  const dir = join(DATA, suite);
  const input = readFileSync(join(dir, name), 'utf8');
  const goldenPath = join(dir, `${name}.injected`);
  const admittedPath = join(dir, `${name}.admitted`);
  const config = configFor(dir, name);

  it('nsm-inject prints the golden file', () => {
    const out = injectManifests(input, config, name, {byName: collectNamespaces([input]), fallback: undefined}).text;
    if (REFRESH) writeFileSync(goldenPath, out);
    expect(existsSync(goldenPath)).toBe(true);
    expect(out).toBe(readFileSync(goldenPath, 'utf8'));
  });

  it('nsm-inject leaves the golden file unchanged (idempotent)', () => {
    const golden = readFileSync(goldenPath, 'utf8');
    expect(injectManifests(golden, config, name, {byName: collectNamespaces([golden]), fallback: undefined}).text).toBe(golden);
  });

  it('the webhook patch in inject-template mode, applied to each input object, gives the golden object; a second pass gives no patch', async () => {
    const inputs = objectsOf(input);
    const expected = objectsOf(readFileSync(goldenPath, 'utf8'));
    expect(inputs).toHaveLength(expected.length);
    for (const [i, object] of inputs.entries()) {
      const first = await viaWebhook(object, templateMode(config), namespacesOf(input));
      expect(first.object).toEqual(expected[i]);
      expect((await viaWebhook(first.object, templateMode(config), namespacesOf(input))).patch).toEqual([]);
    }
  });

  it(`the webhook patch in the config's own workloads mode gives the .admitted object (or the golden one); a second pass gives no patch`, async () => {
    if (REFRESH) {
      const admitted = injectManifests(input, config, name, {byName: collectNamespaces([input]), fallback: undefined}, config.config.workloads).text;
      // Only the cases where the mode makes a difference get a file of their own.
      const differs = JSON.stringify(objectsOf(admitted)) !== JSON.stringify(objectsOf(readFileSync(goldenPath, 'utf8')));
      if (differs) writeFileSync(admittedPath, admitted);
      else rmSync(admittedPath, {force: true});
    }
    const inputs = objectsOf(input);
    const expected = objectsOf(readFileSync(existsSync(admittedPath) ? admittedPath : goldenPath, 'utf8'));
    expect(inputs).toHaveLength(expected.length);
    for (const [i, object] of inputs.entries()) {
      const first = await viaWebhook(object, config, namespacesOf(input));
      expect(first.object).toEqual(expected[i]);
      expect((await viaWebhook(first.object, config, namespacesOf(input))).patch).toEqual([]);
    }
  });
});

it.each(SUITES)('every golden file and config overlay in %s belongs to a case (no stale files)', suite => {
  const names = cases.filter(([s]) => s === suite).map(([, name]) => name);
  const stale = filesOf(suite).filter(f => {
    if (f.endsWith('.injected') || f.endsWith('.admitted')) return !names.includes(f.replace(/\.(injected|admitted)$/, ''));
    if (f.endsWith('.config.yaml')) return !names.some(n => n.replace(/\.(yaml|json)$/, '.config.yaml') === f);
    return !isCase(f) && f !== 'README.md';
  });
  expect(stale).toEqual([]);
});
