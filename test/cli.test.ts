/** nsm-inject: inputs (file, folder, stdin, List), config choice, errors, and the installed bin. */
import {spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Pod} from 'kubernetes-types/core/v1';
import {parse, parseAllDocuments, stringify} from 'yaml';
import {run} from '../functions/cli/main';
import {createHandler} from '../functions/http/handler';
import {silentLogger} from '../functions/ops/log';
import {decodePatch, defaultConfig, HASH_LABEL, review} from './support/fixtures';

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
    expect(out.stderr).toBe(`nsm-inject: ${join(dir, 'anchors.yaml')}: Deployment/web: written out anew (it uses YAML anchors, which an insertion would change everywhere they are used): its formatting and comments may differ from yours\n`);
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
    [['-f', '/nonexistent.yaml'], 1, /^nsm-inject: \/nonexistent\.yaml: no such file or folder\n$/],
    [['-f', join(DATA, 'pod-minimal.yaml'), '--config', '/nonexistent.yaml'], 1, /^nsm-inject: config \/nonexistent\.yaml: no such file or folder\n$/],
    [['-f', join(DATA, 'pod-minimal.yaml', 'x.yaml')], 1, /^nsm-inject: .*pod-minimal\.yaml\/x\.yaml: no such file or folder \(a part of the path is a file\)\n$/],
    [['--bogus'], 2, /Unknown option '--bogus'/],
    [[], 2, /-f is required/],
  ])('refuses %j with exit %i', (args, status, message) => {
    const out = cli(args);
    expect(out.status).toBe(status);
    expect(out.stderr).toMatch(message);
    expect(out.stdout).toBe('');
  });

  it('a file that is not YAML: one line with the file, where, the first problem and how many more', () => {
    // This very test file: TypeScript, which YAML reads as a page of problems.
    const out = cli(['-f', __filename]);
    expect(out.status).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(new RegExp(`^nsm-inject: ${__filename.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid YAML or JSON: line \\d+, column \\d+: .+ \\(and \\d+ more problems\\)\\n$`));
    expect(out.stderr.length).toBeLessThan(400);
  });

  it('a folder of folders says so and suggests -R; -R reads every level in walk order; a folder without manifests says so', () => {
    mkdirSync(join(dir, 'b', 'deep'), {recursive: true});
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'b', 'deep', 'pod.yaml'), readFileSync(join(DATA, 'pod-minimal.yaml')));
    writeFileSync(join(dir, 'b', 'cm.json'), JSON.stringify({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'cm'}}));
    writeFileSync(join(dir, 'a', 'notes.txt'), 'not a manifest');
    const flat = cli(['-f', dir]);
    expect(flat).toEqual({status: 1, stdout: '', stderr: `nsm-inject: ${dir}: no .yaml, .yml or .json files in this folder (it has 2 subfolders: add -R to read them too)\n`});
    const deep = cli(['-f', dir, '-R']);
    expect(deep.stderr).toBe('');
    expect(deep.status).toBe(0);
    const docs = parseAllDocuments(deep.stdout).map(d => d.toJS() as {kind: string; spec?: {containers: unknown[]}});
    expect(docs.map(d => d.kind)).toEqual(['ConfigMap', 'Pod']);
    expect(docs[1]?.spec?.containers).toHaveLength(2);
    expect(cli(['-f', join(dir, 'a'), '--recursive']).stderr).toBe(`nsm-inject: ${join(dir, 'a')}: no .yaml, .yml or .json files in this folder\n`);
  });

  it('-R reads a folder once even when a symbolic link leads back up to it', () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'pod.yaml'), readFileSync(join(DATA, 'pod-minimal.yaml')));
    symlinkSync(dir, join(dir, 'sub', 'loop'));
    const out = cli(['-f', dir, '-R']);
    expect(out.status).toBe(0);
    expect(parseAllDocuments(out.stdout)).toHaveLength(1);
  });

  it('an unquoted Go template: a warning in our words naming file and line, the document printed as it is', () => {
    const file = join(__dirname, 'testdata', 'nsm-examples', 'scale-from-zero-pod-template.yaml');
    const out = cli(['-f', file]);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(readFileSync(file, 'utf8'));
    expect(out.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(new RegExp(`^nsm-inject: ${file}: Pod/nse-icmp-responder-.*: line 10: \\{index \\.Labels "nodeName"\\} is a map or list used as a key, which no Kubernetes object has: an unquoted \\{\\{ \\}\\} template`)),
    ]);
  });

  it('a document that is not a Kubernetes object is printed as it is, with a warning', () => {
    writeFileSync(join(dir, 'mixed.yaml'), 'just some text\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n');
    const out = cli(['-f', join(dir, 'mixed.yaml')]);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(readFileSync(join(dir, 'mixed.yaml'), 'utf8'));
    expect(out.stderr).toBe(`nsm-inject: ${join(dir, 'mixed.yaml')}: document 1: line 1: not a Kubernetes object (no apiVersion and kind); printed as it is\n`);
  });

  it("keeps the user's lines as they are: CRLF line endings, four-space indentation, comments, quoting", () => {
    const lines = [
      '# a pod',
      'apiVersion: "v1"',
      'kind: Pod',
      'metadata:',
      '    name: crlf   # trailing comment',
      '    annotations:',
      "        networkservicemesh.io: 'kernel://a/nsm-1'",
      'spec:',
      '    containers:',
      '        -   name: app',
      '            image: alpine',
      '',
    ];
    writeFileSync(join(dir, 'crlf.yaml'), lines.join('\r\n'));
    const out = cli(['-f', join(dir, 'crlf.yaml')]);
    expect(out.status).toBe(0);
    const written = out.stdout.split('\r\n');
    // Every line ends in CRLF, and the user's lines are all there, in order.
    expect(out.stdout.replace(/\r\n/g, '')).not.toContain('\n');
    expect(written.filter(l => l !== '' && lines.includes(l))).toEqual(lines.filter(l => l !== ''));
    // What was added follows the file's layout: four spaces, `-` then three.
    expect(written).toContain('        -   name: cmd-nsc');
    expect(written).toContain('    initContainers:');
    expect(written).toContain('        -   name: cmd-nsc-init');
  });

  it('refuses an invalid config naming the field, and broken YAML naming the file', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'annotation: 1\n');
    expect(cli(['-f', join(DATA, 'pod-minimal.yaml'), '--config', join(dir, 'bad.yaml')]).stderr).toMatch(/annotation: must be string/);
    writeFileSync(join(dir, 'broken.yaml'), 'kind: [\n');
    const out = cli(['-f', join(dir, 'broken.yaml')]);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('broken.yaml');
  });

  it("NSM_NAME: stable for one object across runs; the webhook's differs (its uid), and it leaves the CLI's alone", async () => {
    const nsmName = (text: string): string | undefined =>
      (parse(text) as Pod).spec?.containers.find(c => c.name === 'cmd-nsc')?.env?.find(e => e.name === 'NSM_NAME')?.value;
    const first = cli(['-f', join(DATA, 'pod-minimal.yaml')]).stdout;
    expect(nsmName(first)).toMatch(/^\$\(POD_NAME\)-[0-9a-f]{8}$/);
    expect(cli(['-f', join(DATA, 'pod-minimal.yaml')]).stdout).toBe(first);
    const handle = createHandler({config: defaultConfig, logger: silentLogger});
    const ask = async (object: unknown): Promise<Array<{path: string; value?: unknown}>> => {
      const answer = await handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(review(object, {uid: 'a-request-uid'})))}});
      return decodePatch((JSON.parse(answer.body) as {response: {patch?: string}}).response.patch) as Array<{path: string; value?: unknown}>;
    };
    const fromWebhook = (await ask(parse(readFileSync(join(DATA, 'pod-minimal.yaml'), 'utf8')))).find(op => op.path === '/spec/containers/1')?.value as {env: Array<{name: string; value?: string}>};
    expect(fromWebhook.env.find(e => e.name === 'NSM_NAME')?.value).toMatch(/^\$\(POD_NAME\)-[0-9a-f]{8}$/);
    expect(fromWebhook.env.find(e => e.name === 'NSM_NAME')?.value).not.toBe(nsmName(first));
    expect(await ask(parse(first))).toEqual([]);
  });

  it('--help exits 0 and says what it does', () => {
    const out = cli(['--help']);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('Usage: nsm-inject');
  });

  // Runs the build output (`npm test` builds first, see package.json "pretest").
  it('as a process, lets no library warning through: only its own lines on stderr', () => {
    const file = join(__dirname, 'testdata', 'nsm-examples', 'scale-from-zero-pod-template.yaml');
    const res = spawnSync(process.execPath, ['dist/functions/cli/main.js', '-f', file], {encoding: 'utf8'});
    expect(res.status).toBe(0);
    expect(res.stderr).not.toMatch(/Warning:|stringified|mapAsMap/);
    expect(res.stderr.split('\n').filter(Boolean).every(l => l.startsWith(`nsm-inject: ${file}: `))).toBe(true);
  });

  it('works as the package bin, reading stdin (-f -)', () => {
    const bin = (JSON.parse(readFileSync('package.json', 'utf8')) as {bin: Record<string, string>}).bin['nsm-inject'] ?? '';
    const res = spawnSync(join(process.cwd(), bin), ['-f', '-'], {input: readFileSync(join(DATA, 'list.yaml')), encoding: 'utf8'});
    expect(res.status).toBe(0);
    expect(res.stdout).toBe(readFileSync(join(DATA, 'list.yaml.injected'), 'utf8'));
  });
});
