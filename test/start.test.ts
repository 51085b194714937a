/**
 * The quick start, for real: the `npm start` command as a process on a port, configured from a
 * ConfigMap-style folder, answering reviews over HTTP, and following config swaps without restart.
 */
import {stringify} from 'yaml';
import {FakeConfigMapVolume} from './support/kubelet-volume';
import {annotatedPod, decodePatch, DEFAULT_CONFIG_TEXT, defaultConfig, review} from './support/fixtures';
import {startFunction, type RunningFunction} from './support/process';
import {eventually} from './support/eventually';

async function mutate(fn: RunningFunction): Promise<{status: number; ops: Array<{path: string; value?: unknown}>}> {
  const res = await fetch(`${fn.url}/mutate`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(review(annotatedPod()))});
  const body = (await res.json()) as {response: {patch?: string}};
  return {status: res.status, ops: decodePatch(body.response.patch) as Array<{path: string; value?: unknown}>};
}

const injectsNativeSidecar = (ops: Array<{path: string; value?: unknown}>): boolean =>
  ops.some(op => op.path === '/spec/initContainers' && JSON.stringify(op.value).includes('"restartPolicy":"Always"'));


describe('npm start', () => {
  const volume = new FakeConfigMapVolume(DEFAULT_CONFIG_TEXT);
  let fn: RunningFunction;
  beforeAll(async () => (fn = await startFunction({INJECTOR_CONFIG: volume.dir, LOG_LEVEL: 'info'})), 30_000);
  afterAll(async () => {
    await fn?.stop();
    volume.remove();
  });

  it('serves the function with the config from the folder', async () => {
    const {status, ops} = await mutate(fn);
    expect(status).toBe(200);
    expect(ops.map(op => op.path).sort()).toEqual(
      ['/metadata/annotations/sidecar-injector.networkservicemesh.io~1status', '/metadata/labels', '/spec/containers/1', '/spec/initContainers', '/spec/volumes'].sort(),
    );
    expect(injectsNativeSidecar(ops)).toBe(false);
  });

  it('follows a ..data swap without restart, and keeps the last good config when a swap is broken', async () => {
    volume.swap(stringify({...defaultConfig().config, nativeSidecars: true}));
    await eventually(async () => injectsNativeSidecar((await mutate(fn)).ops), 'the new config to take effect');

    volume.swap('sidecars: not-a-list\n');
    await eventually(async () => fn.output().includes('config rejected'), 'the rejection to be logged');
    const {status, ops} = await mutate(fn);
    expect(status).toBe(200);
    expect(injectsNativeSidecar(ops)).toBe(true);
    const rejection = fn.output().split('\n').find(l => l.includes('config rejected')) ?? '';
    expect(JSON.parse(rejection)).toMatchObject({severity: 'ERROR', errors: expect.arrayContaining([expect.stringContaining('sidecars')])});
  });
});

describe('npm start with CLIENT_CA_FILE', () => {
  it('says the setting is ignored: client certificates are the HTTPS entry point\'s', async () => {
    const fn = await startFunction({LOG_LEVEL: 'info', CLIENT_CA_FILE: '/etc/nsm-sidecar-injector/client-ca/ca.crt'});
    try {
      await eventually(() => fn.output().includes('"CLIENT_CA_FILE is ignored'), 'the warning');
      expect((await fetch(`${fn.url}/healthz`)).status).toBe(200);
    } finally {
      await fn.stop();
    }
  }, 30_000);
});
