/**
 * The logs an operator reads at 3 a.m.: JSON lines, one per decision with the fields that say what
 * was decided and why, the startup summary, config reload results; the level from LOG_LEVEL; and
 * never a value from the pod's env.
 */
import {stringify} from 'yaml';
import {version} from '../package.json';
import type {AdmissionReviewRequest} from '../functions/admission/review';
import {createHandler} from '../functions/http/handler';
import {jsonLogger, parseLogLevel} from '../functions/ops/log';
import {createRuntime, type Runtime} from '../functions/runtime';
import {FakeConfigMapVolume} from './support/kubelet-volume';
import {annotatedPod, DEFAULT_CONFIG_TEXT, defaultConfig, NSM_ANNOTATION, pod, review} from './support/fixtures';

const SECRET = 's3cr3t-env-value-91b2';

type Line = Record<string, unknown>;

const runtimes: Runtime[] = [];
afterEach(() => {
  for (const r of runtimes.splice(0)) r.close();
});

function start(env: Record<string, string>): {runtime: Runtime; raw: string[]; lines: () => Line[]} {
  const raw: string[] = [];
  const runtime = createRuntime({env, logWrite: line => raw.push(line), watch: false});
  runtimes.push(runtime);
  return {runtime, raw, lines: () => raw.map(l => JSON.parse(l) as Line)};
}

const send = (runtime: Runtime, r: AdmissionReviewRequest) => runtime.handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(r))}});
const decisions = (lines: Line[]) => lines.filter(l => l['message'] === 'admission decision');

describe('one log line per decision', () => {
  it('carries uid, namespace, kind, name, operation, decision, reason, duration and dry-run, and no env value', async () => {
    const {runtime, raw, lines} = start({LOG_LEVEL: 'info'});
    const secretPod = pod({
      annotations: {[NSM_ANNOTATION]: 'kernel://icmp-responder/nsm-1'},
      spec: {containers: [{name: 'app', image: 'alpine:3.20', env: [{name: 'API_TOKEN', value: SECRET}]}]},
    });
    await send(runtime, review(secretPod, {uid: 'l-1'}));
    await send(runtime, review(pod(), {uid: 'l-2'}));
    await send(runtime, review(annotatedPod(), {uid: 'l-3', dryRun: true}));
    await send(runtime, review({}, {uid: 'l-4', operation: 'DELETE', kind: {group: '', kind: 'Pod'}}));
    await send(runtime, review(pod({spec: {containers: [{name: 'a', image: 'x', env: [{name: 'T', value: SECRET}]}]}}), {uid: 'l-5', operation: 'UPDATE'}));
    // Refusals are counted in metrics, not logged per request.
    await runtime.handle({method: 'POST', path: '/mutate', body: undefined});

    // Every line is one JSON object.
    expect(raw.every(l => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    const found = decisions(lines());
    // l-2, a pod that does not ask for NSM, is logged at debug only (the next test).
    expect(found.map(l => l['uid'])).toEqual(['l-1', 'l-3', 'l-4', 'l-5']);
    const common = {severity: 'INFO', namespace: 'apps', kind: 'Pod', configHash: defaultConfig().hash, durationMs: expect.any(Number), time: expect.any(String)};
    expect(found[0]).toEqual({
      ...common,
      message: 'admission decision',
      uid: 'l-1',
      name: 'client',
      operation: 'CREATE',
      decision: 'injected',
      requestedBy: 'pod',
      injectedContainers: ['cmd-nsc-init', 'cmd-nsc'],
      dryRun: false,
    });
    expect(found[1]).toMatchObject({...common, uid: 'l-3', decision: 'injected', dryRun: true});
    expect(found[2]).toMatchObject({uid: 'l-4', operation: 'DELETE', decision: 'skipped', reason: 'not-create', dryRun: false});
    expect(found[3]).toMatchObject({uid: 'l-5', operation: 'UPDATE', decision: 'skipped', reason: 'not-create'});
    for (const l of found) expect(l['durationMs']).toBeGreaterThanOrEqual(0);
    expect(raw.join('')).not.toContain(SECRET);
  });

  it('logs a pod that does not ask for NSM at debug only, and counts it at every level', async () => {
    const decisionsCounted = async (runtime: Runtime): Promise<string | undefined> =>
      (await runtime.metrics.page()).body.split('\n').find(l => l.startsWith('nsm_injector_decisions_total{outcome="skipped",reason="not-requested"}'));
    const info = start({LOG_LEVEL: 'info'});
    await send(info.runtime, review(pod(), {uid: 'nr-1'}));
    expect(decisions(info.lines())).toEqual([]);
    expect(await decisionsCounted(info.runtime)).toMatch(/ 1$/);
    const debug = start({LOG_LEVEL: 'debug'});
    await send(debug.runtime, review(pod(), {uid: 'nr-2'}));
    expect(decisions(debug.lines())).toEqual([
      expect.objectContaining({severity: 'DEBUG', uid: 'nr-2', name: 'client', operation: 'CREATE', decision: 'skipped', reason: 'not-requested', dryRun: false}),
    ]);
    expect(await decisionsCounted(debug.runtime)).toMatch(/ 1$/);
  });

  it('logs at info a pod that does not ask but has something to read: a blank annotation, a namespace that could not be read', async () => {
    const {runtime, lines} = start({LOG_LEVEL: 'info'});
    await send(runtime, review(pod({annotations: {[NSM_ANNOTATION]: '  '}}), {uid: 'nr-3'}));
    const raw: string[] = [];
    const handle = createHandler({
      config: () => defaultConfig(),
      logger: jsonLogger('info', line => raw.push(line)),
      namespaces: {lookup: async () => ({ok: false, reason: 'connection refused'})},
    });
    await handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(review(pod(), {uid: 'nr-4'})))}});
    const found = [...decisions(lines()), ...decisions(raw.map(l => JSON.parse(l) as Line))];
    expect(found).toEqual([
      expect.objectContaining({severity: 'INFO', uid: 'nr-3', decision: 'skipped', reason: 'not-requested', warnings: [expect.stringContaining('holds only blanks')]}),
      expect.objectContaining({severity: 'INFO', uid: 'nr-4', decision: 'skipped', reason: 'not-requested', namespaceLookup: 'failed', warnings: [expect.stringContaining('could not read namespace apps')]}),
    ]);
  });

  it('says of a workload whose pods will be injected when created: deferred, and what asked for it', async () => {
    const {runtime, lines} = start({LOG_LEVEL: 'info'});
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {name: 'web', namespace: 'apps', annotations: {[NSM_ANNOTATION]: 'kernel://a/nsm-1'}},
      spec: {template: {spec: {containers: [{name: 'web', image: 'nginx'}]}}},
    };
    await send(runtime, review(deployment, {uid: 'l-6'}));
    const line = decisions(lines())[0];
    expect(line).toMatchObject({uid: 'l-6', kind: 'Deployment', name: 'web', decision: 'deferred', requestedBy: 'workload'});
    expect(line).not.toHaveProperty('reason');
    expect(line).not.toHaveProperty('injectedContainers');
  });

  it('logs the startup summary once told the server listens: port, version, config source and hash', () => {
    const {runtime, lines} = start({LOG_LEVEL: 'info'});
    expect(lines().map(l => l['message'])).not.toContain('nsm-sidecar-injector started');
    runtime.started({port: 8080, protocol: 'http'});
    expect(lines()).toContainEqual(
      expect.objectContaining({
        severity: 'INFO',
        message: 'nsm-sidecar-injector started',
        port: 8080,
        protocol: 'http',
        version,
        configPath: expect.stringContaining('config.yaml'),
        configHash: defaultConfig().hash,
      }),
    );
  });
});

describe('config reload results', () => {
  const volume = new FakeConfigMapVolume(DEFAULT_CONFIG_TEXT);
  afterAll(() => volume.remove());

  it('logs a good reload with its hash, and a rejected one with its errors and the hash kept', () => {
    const {runtime, lines} = start({LOG_LEVEL: 'info', INJECTOR_CONFIG: volume.dir});
    volume.swap(stringify({...defaultConfig().config, nativeSidecars: true}));
    runtime.config.load();
    const hash = runtime.config.get()?.hash;
    volume.swap('sidecars: not-a-list\n');
    runtime.config.load();
    const reloads = lines().filter(l => String(l['message']).startsWith('config '));
    expect(reloads).toEqual([
      expect.objectContaining({severity: 'INFO', message: 'config loaded', configHash: defaultConfig().hash}),
      expect.objectContaining({severity: 'INFO', message: 'config loaded', configHash: hash}),
      expect.objectContaining({severity: 'ERROR', message: expect.stringContaining('config rejected'), activeConfigHash: hash, errors: expect.arrayContaining([expect.stringContaining('sidecars')])}),
    ]);
  });
});

describe('LOG_LEVEL', () => {
  it.each([
    ['warn', 0],
    ['WARNING', 0],
    ['error', 0],
    ['info', 1],
    ['debug', 1],
    ['nonsense', 1],
  ])('%s: %i decision lines for one review', async (level, count) => {
    const {runtime, lines} = start({LOG_LEVEL: level});
    await send(runtime, review(annotatedPod(), {uid: 'lv-1'}));
    expect(decisions(lines())).toHaveLength(count);
  });

  it('maps levels to Cloud Logging severities', () => {
    const out: string[] = [];
    const logger = jsonLogger(parseLogLevel('debug'), line => out.push(line));
    for (const level of ['debug', 'info', 'warn', 'error'] as const) logger.log(level, level);
    expect(out.map(l => (JSON.parse(l) as Line)['severity'])).toEqual(['DEBUG', 'INFO', 'WARNING', 'ERROR']);
  });
});
