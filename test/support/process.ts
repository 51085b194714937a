/** Starting the real function as a child process, the way `npm start` does, for process-level tests. */
import {spawn, type ChildProcess} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {createServer} from 'node:net';

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
