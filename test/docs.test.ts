/**
 * The command blocks of README.md and docs/*.md. Each one is either run by a test or a CI script
 * (then what the docs show it printing is compared), or marked as needing what this machine doesn't
 * have, with the reason. The mark is an HTML comment on the line before the block:
 *   <!-- runs in: test/docs.test.ts -->              (paths that run it; each names the doc)
 *   <!-- not run here: needs a cluster with ... -->
 * This file runs the README's own examples; test/e2e/docs.e2e.test.ts runs the ones that need an
 * apiserver; .ci/run runs the quick start.
 */
import {execFileSync} from 'node:child_process';
import {cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {parseAllDocuments} from 'yaml';
import {blockWith, commandBlocks} from './support/doc-blocks';
import {startFunction, type RunningFunction} from './support/process';

const DOCS = ['README.md', ...readdirSync('docs').filter(f => f.endsWith('.md')).map(f => join('docs', f))];

const all = DOCS.flatMap(commandBlocks);

describe('every command block in the docs', () => {
  it('is found (the scan itself works)', () => {
    expect(all.length).toBeGreaterThan(15);
    expect(all.map(b => b.doc)).toEqual(expect.arrayContaining(['README.md', 'docs/deploy.md', 'docs/tls.md', 'docs/operations.md']));
  });

  it.each(all.map(b => [`${b.doc}:${b.line}`, b] as const))('%s is run by a test, or says why it is not', (_where, block) => {
    expect(block.mark).toMatch(/^(runs in: \S.*|not run here: \S.*)$/);
    const runners = /^runs in: (.*)$/.exec(block.mark ?? '')?.[1]?.split(/,\s*/) ?? [];
    for (const runner of runners) {
      const path = runner.split(' ')[0] ?? '';
      // The runner exists and refers to the doc it runs.
      expect([path, existsSync(path) && readFileSync(path, 'utf8').includes(block.doc.replace(/^docs\//, ''))]).toEqual([path, true]);
    }
  });
});

describe("the README's examples, run", () => {
  let fn: RunningFunction;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-docs-'));
    fn = await startFunction({LOG_LEVEL: 'error'});
  }, 30_000);
  afterAll(async () => {
    await fn?.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  it('"Try it": the commands print what the README shows (curl and jq against npm start)', () => {
    const block = blockWith('README.md', 'cat > /tmp/review.json');
    expect(block.output).toBeDefined();
    // The function runs on a free port, and the files go to a folder of this test's own.
    const script = block.text.replaceAll('localhost:8080', fn.url.replace('http://', '')).replaceAll('/tmp/', `${dir}/`);
    expect(execFileSync('sh', ['-ec', script], {encoding: 'utf8'})).toBe(`${block.output}\n`);
  });

  it('the nsm-inject line writes the injected manifest (npm test has built it already)', () => {
    const block = blockWith('README.md', 'npx nsm-inject');
    const line = block.text.split('\n').find(l => l.startsWith('npx nsm-inject')) ?? '';
    writeFileSync(join(dir, 'deploy.yaml'), readFileSync(join('test', 'testdata', 'nsm-examples', 'vl3-basic-client.yaml')));
    execFileSync('sh', ['-ec', line.replace(/#.*$/, '').replaceAll('deploy.', `${dir}/deploy.`)], {encoding: 'utf8'});
    const written = readFileSync(join(dir, 'deploy.injected.yaml'), 'utf8');
    expect(written).toBe(readFileSync(join('test', 'testdata', 'nsm-examples', 'vl3-basic-client.yaml.injected'), 'utf8'));
    expect(parseAllDocuments(written)).toHaveLength(1);
  });
});

describe('docs/deploy.md, "Traefik in another namespace": the sed line, run on a copy of manifests/', () => {
  type Rendered = {kind: string; metadata: {name: string; namespace?: string}; spec?: Record<string, unknown>; webhooks?: Array<{clientConfig: {service: {namespace: string}}}>};
  const render = (root: string): Rendered[] =>
    parseAllDocuments(execFileSync('kubectl', ['kustomize', join(root, 'manifests', 'knative')], {encoding: 'utf8'})).map(d => d.toJS() as Rendered);
  const placesOf = (objects: Rendered[], ns: string) => {
    const find = (kind: string, name: string): Rendered | undefined => objects.find(o => o.kind === kind && o.metadata.name === name);
    return {
      bridge: objects.find(o => o.kind === 'Service' && o.metadata.name === 'nsm-sidecar-injector' && o.metadata.namespace === ns) !== undefined,
      webhook: find('MutatingWebhookConfiguration', 'nsm-sidecar-injector')?.webhooks?.[0]?.clientConfig.service.namespace,
      dnsName: ((find('Certificate', 'nsm-sidecar-injector-serving')?.spec?.dnsNames ?? []) as string[]).includes(`nsm-sidecar-injector.${ns}.svc`),
      host: JSON.stringify(find('IngressRoute', 'nsm-sidecar-injector-webhook')?.spec ?? {}).includes(`Host(\`nsm-sidecar-injector.${ns}.svc\`)`),
    };
  };
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-docs-traefik-ns-'));
    cpSync('manifests', join(dir, 'manifests'), {recursive: true});
  });
  afterAll(() => rmSync(dir, {recursive: true, force: true}));

  it('moves all four places from traefik to the new namespace, and nothing else', () => {
    const before = render(dir);
    expect(placesOf(before, 'traefik')).toEqual({bridge: true, webhook: 'traefik', dnsName: true, host: true});
    const block = blockWith('docs/deploy.md', 'manifests/components/knative-traefik/*.yaml');
    const ns = /^NS=(\S+)$/m.exec(block.text)?.[1] ?? '';
    expect(ns).not.toBe('');
    execFileSync('sh', ['-ec', block.text], {cwd: dir, encoding: 'utf8'});
    const after = render(dir);
    expect(placesOf(after, ns)).toEqual({bridge: true, webhook: ns, dnsName: true, host: true});
    // No trace of the old namespace is left on the route; the bridge still selects Traefik's pods.
    expect(JSON.stringify(after)).not.toContain('nsm-sidecar-injector.traefik.svc');
    expect(after.filter(o => o.metadata.namespace === 'traefik')).toEqual([]);
    const bridge = after.find(o => o.kind === 'Service' && o.metadata.namespace === ns);
    expect(bridge?.spec?.selector).toEqual({'app.kubernetes.io/name': 'traefik'});
    // Everything else renders as before: the same objects, by kind and name.
    const ids = (objects: Rendered[]): string[] => objects.map(o => `${o.kind}/${o.metadata.name}`).sort();
    expect(ids(after)).toEqual(ids(before));
  });
});
