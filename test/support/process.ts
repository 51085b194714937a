/** Starting the real function as a child process, the way `npm start` does, for process-level tests. */
import {spawn, type ChildProcess} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {eventually, within} from './eventually';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A child process of ours under test: its output, and a stop that waits for it to exit. */
export interface ServiceProcess {
  readonly pid: number;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Spawns `command args`, captures its output, and resolves once `healthy()` says so; rejects (after
 * stopping it) if it exits first or never becomes healthy. `stop` sends SIGTERM, then SIGKILL after 5 s.
 */
export async function startService(what: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv, healthy: () => Promise<boolean>): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(command, args, {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!running()) return;
    const exited = new Promise(r => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  process.once('exit', () => child.kill('SIGKILL'));
  for (let i = 0; i < 200; i++) {
    if (!running()) throw new Error(`${what} exited early:\n${output}`);
    if (await healthy().catch(() => false)) return {pid: child.pid ?? 0, output: () => output, stop};
    await new Promise(r => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`${what} did not become healthy:\n${output}`);
}

export interface RunningFunction extends ServiceProcess {
  readonly url: string;
}

/**
 * package.json's `start` command as [command, args] (without its prestart build; `npm test` built
 * already). `nodeFlags` run functions-framework's CLI under `node` with those flags (e.g. --trace-gc,
 * which NODE_OPTIONS does not accept), otherwise it is the command exactly.
 */
export function startCommand(nodeFlags: readonly string[] = []): [string, string[]] {
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as {scripts: {start: string}}).scripts.start;
  const cli = nodeFlags.length === 0 ? 'node_modules/.bin/functions-framework' : `node ${nodeFlags.join(' ')} node_modules/.bin/functions-framework`;
  return ['sh', ['-c', `exec ${start.replace(/^functions-framework/, cli)}`]];
}

/** Runs package.json's `start` command. */
export async function startFunction(env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<RunningFunction> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await startService(
    'the function',
    ...startCommand(nodeFlags),
    {...env, PORT: String(port)},
    async () => (await fetch(`${url}/healthz`)).status === 200,
  );
  return {...service, url};
}

/** One of our node entry points (dist/functions/.../main.js) as a child process. */
export interface EntryPoint {
  readonly port: number;
  readonly proc: ChildProcess;
  /** Its exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  output(): string;
  /** SIGKILL, unless it has exited already. */
  stop(): Promise<void>;
}

function spawnCaptured(script: string, env: NodeJS.ProcessEnv): {proc: ChildProcess; output: () => string; exited: Promise<number | null>} {
  const proc = spawn(process.execPath, [script], {env: {...process.env, LOG_LEVEL: 'info', ...env}, stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>(resolve => proc.once('exit', code => resolve(code)));
  return {proc, output: () => output, exited};
}

/** Runs `node script` on PORT=0 (unless `env` sets PORT) and resolves once its "started" line names the port it got. */
export async function startEntryPoint(script: string, env: NodeJS.ProcessEnv): Promise<EntryPoint> {
  const {proc, output, exited} = spawnCaptured(script, {PORT: '0', ...env});
  let port: number | undefined;
  await eventually(() => {
    if (proc.exitCode !== null) throw new Error(`${script} exited early:\n${output()}`);
    const line = output().split('\n').find(l => l.includes('"nsm-sidecar-injector started"'));
    if (line !== undefined) port = (JSON.parse(line) as {port: number}).port;
    return port !== undefined;
  }, `${script} to listen`);
  return {
    port: port as number,
    proc,
    exited,
    output,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Runs `node script` until it exits (within `ms`): its exit code and output. */
export async function runToExit(script: string, env: NodeJS.ProcessEnv, ms: number): Promise<{code: number | null; output: string}> {
  const {proc, output, exited} = spawnCaptured(script, env);
  try {
    return {code: await within(exited, ms, `${script} to exit`), output: output()};
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}

/** What an entry point that can't have its port must do: exit 1 after one JSON error line naming the port, and never say "started". */
export function expectBusyPortExit(result: {code: number | null; output: string}, port: number): void {
  expect(result.code).toBe(1);
  const lines = result.output.split('\n').filter(Boolean);
  expect(lines.filter(l => !l.startsWith('{'))).toEqual([]);
  const logged = lines.map(l => JSON.parse(l) as {severity: string; message: string});
  expect(logged.filter(l => l.severity === 'ERROR')).toEqual([
    expect.objectContaining({message: `cannot serve: port ${port} is already in use by another process; set PORT to a free port`, code: 'EADDRINUSE'}),
  ]);
  expect(logged.map(l => l.message)).not.toContain('nsm-sidecar-injector started');
}
