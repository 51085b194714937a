/**
 * The quick start, for real: the `npm start` command as a process on a port, configured from a
 * ConfigMap-style folder, answering reviews over HTTP, and following config swaps without restart.
 */
import {stringify} from 'yaml';
import {FakeConfigMapVolume} from './support/kubelet-volume';
import {annotatedPod, decodePatch, DEFAULT_CONFIG_TEXT, defaultConfig, review} from './support/fixtures';
import {spawn} from 'node:child_process';
import {connect, createServer, type Server} from 'node:net';
import {expectBusyPortExit, freePort, startCommand, startFunction, type RunningFunction} from './support/process';
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

describe('npm start and its port', () => {
  /** Runs the start command on `port` until it exits or logs `until`; its output and exit status. */
  async function run(port: number, until?: RegExp): Promise<{output: string; status: number | null; stop: () => void}> {
    const [command, args] = startCommand();
    const child = spawn(command, args, {env: {...process.env, LOG_LEVEL: 'info', PORT: String(port)}, stdio: ['ignore', 'pipe', 'pipe']});
    let output = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no outcome within 20 s:\n${output}`));
      }, 20_000);
      const stop = (): void => void child.kill('SIGKILL');
      const take = (d: Buffer): void => {
        output += d.toString();
        if (until !== undefined && until.test(output)) {
          clearTimeout(timer);
          resolve({output, status: null, stop});
        }
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.once('exit', status => {
        clearTimeout(timer);
        resolve({output, status, stop});
      });
    });
  }

  it('a busy port: one error line naming the port, exit status 1, no stack trace and no "started"', async () => {
    const blocker: Server = createServer();
    const port = await freePort();
    await new Promise<void>(resolve => blocker.listen(port, resolve));
    try {
      const {output, status} = await run(port);
      expectBusyPortExit({code: status, output}, port);
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('says "started" only once it listens: the port accepts a connection the moment the line appears', async () => {
    const port = await freePort();
    const {output, stop} = await run(port, /"nsm-sidecar-injector started".*\n/);
    try {
      const line = output.split('\n').find(l => l.includes('"nsm-sidecar-injector started"')) ?? '';
      expect(JSON.parse(line)).toMatchObject({severity: 'INFO', port, protocol: 'http'});
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.end();
          resolve();
        });
        socket.once('error', reject);
      });
    } finally {
      stop();
    }
  }, 30_000);
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
