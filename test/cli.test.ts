/** nsm-inject: inputs (file, folder, stdin, List), config choice, errors, and the installed bin. */
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {parseAllDocuments, stringify} from 'yaml';
import {run} from '../functions/cli/main';
import {defaultConfig, HASH_LABEL} from './support/fixtures';

const DATA = join(__dirname, 'testdata', 'inject');

function cli(args: string[]): {status: number; stdout: string; stderr: string} {
  let stdout = '';
  let stderr = '';
  const status = run(args, {stdout: t => (stdout += t), stderr: t => (stderr += t)});
  return {status, stdout, stderr};
}

describe('nsm-inject', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'nsm-cli-'))));
  afterEach(() => rmSync(dir, {recursive: true, force: true}));

  it('injects a multi-document file with Deployments, Jobs and CronJobs, and is idempotent on its output', () => {
    const first = cli(['-f', join(DATA, 'workloads.yaml')]);
    expect(first.status).toBe(0);
    const kinds = parseAllDocuments(first.stdout).map(d => (d.toJS() as {kind: string}).kind);
    expect(kinds).toEqual(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']);
    writeFileSync(join(dir, 'out.yaml'), first.stdout);
    const second = cli(['-f', join(dir, 'out.yaml')]);
    expect(second.status).toBe(0);
    expect(second.stdout).toBe(first.stdout);
  });

  it('reads a folder (yaml, yml and json, in name order, other files ignored) as one stream', () => {
    writeFileSync(join(dir, 'b.yml'), readFileSync(join(DATA, 'pod-minimal.yaml')));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'cm'}}));
    writeFileSync(join(dir, 'c.txt'), 'not a manifest');
    const out = cli(['-f', dir]);
    expect(out.status).toBe(0);
    const docs = parseAllDocuments(out.stdout).map(d => d.toJS() as {kind: string; spec?: {containers: unknown[]}});
    expect(docs.map(d => d.kind)).toEqual(['ConfigMap', 'Pod']);
    expect(docs[1]?.spec?.containers).toHaveLength(2);
  });

  it('picks the config with --config (file or ConfigMap-style folder)', () => {
    writeFileSync(join(dir, 'config.yaml'), stringify({...defaultConfig().config, nativeSidecars: true}));
    for (const setting of [dir, join(dir, 'config.yaml')]) {
      const out = cli(['-f', join(DATA, 'pod-minimal.yaml'), '--config', setting]);
      expect(out.status).toBe(0);
      const pod = parseAllDocuments(out.stdout)[0]?.toJS() as {spec: {initContainers: Array<{name: string; restartPolicy?: string}>}};
      expect(pod.spec.initContainers.map(c => c.restartPolicy)).toEqual([undefined, 'Always']);
    }
  });

  it('injects a document that uses YAML anchors and aliases without writing through them', () => {
    const text = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: web, labels: &l {app: web}}',
      'spec:',
      '  selector: {matchLabels: *l}',
      '  template:',
      '    metadata: {labels: *l, annotations: {networkservicemesh.io: "kernel://a/nsm-1"}}',
      '    spec: {containers: [{name: web, image: nginx}]}',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'anchors.yaml'), text);
    const out = cli(['-f', join(dir, 'anchors.yaml')]);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const d = parseAllDocuments(out.stdout)[0]?.toJS() as {
      metadata: {labels: Record<string, string>};
      spec: {selector: {matchLabels: Record<string, string>}; template: {metadata: {labels: Record<string, string>}; spec: {containers: unknown[]}}};
    };
    expect(d.spec.template.metadata.labels).toEqual({app: 'web', 'spiffe.io/spiffe-id': 'true', [HASH_LABEL]: defaultConfig().hash});
    // The other places that shared the anchor are unchanged.
    expect(d.metadata.labels).toEqual({app: 'web'});
    expect(d.spec.selector.matchLabels).toEqual({app: 'web'});
    expect(d.spec.template.spec.containers).toHaveLength(2);
    writeFileSync(join(dir, 'again.yaml'), out.stdout);
    expect(cli(['-f', join(dir, 'again.yaml')]).stdout).toBe(out.stdout);
  });

  it('prints warnings to stderr and the manifests to stdout', () => {
    const out = cli(['-f', join(DATA, 'name-collisions.yaml')]);
    expect(out.status).toBe(0);
    expect(out.stderr).toContain('Pod/collide: the pod already has a container named "cmd-nsc"');
    expect(out.stdout).toContain('name: cmd-nsc-3');
  });

  it.each([
    [['-f', '/nonexistent.yaml'], 1, /ENOENT/],
    [['-f', join(DATA, 'pod-minimal.yaml'), '--config', '/nonexistent.yaml'], 1, /ENOENT/],
    [['--bogus'], 2, /Unknown option '--bogus'/],
    [[], 2, /-f is required/],
  ])('refuses %j with exit %i', (args, status, message) => {
    const out = cli(args);
    expect(out.status).toBe(status);
    expect(out.stderr).toMatch(message);
    expect(out.stdout).toBe('');
  });

  it('refuses an invalid config naming the field, and broken YAML naming the file', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'annotation: 1\n');
    expect(cli(['-f', join(DATA, 'pod-minimal.yaml'), '--config', join(dir, 'bad.yaml')]).stderr).toMatch(/annotation: must be string/);
    writeFileSync(join(dir, 'broken.yaml'), 'kind: [\n');
    const out = cli(['-f', join(dir, 'broken.yaml')]);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('broken.yaml');
  });

  it('--help exits 0 and says what it does', () => {
    const out = cli(['--help']);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('Usage: nsm-inject');
  });

  // Runs the build output (`npm test` builds first, see package.json "pretest").
  it('works as the package bin, reading stdin (-f -)', () => {
    const bin = (JSON.parse(readFileSync('package.json', 'utf8')) as {bin: Record<string, string>}).bin['nsm-inject'] ?? '';
    const res = spawnSync(join(process.cwd(), bin), ['-f', '-'], {input: readFileSync(join(DATA, 'list.yaml')), encoding: 'utf8'});
    expect(res.status).toBe(0);
    expect(res.stdout).toBe(readFileSync(join(DATA, 'list.yaml.injected'), 'utf8'));
  });
});
