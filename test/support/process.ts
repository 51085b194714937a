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

export interface RunningFunction {
  readonly url: string;
  readonly pid: number;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Runs package.json's `start` command (without its prestart build; `npm test` built already). */
export async function startFunction(env: Record<string, string>): Promise<RunningFunction> {
  const port = await freePort();
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as {scripts: {start: string}}).scripts.start;
  const child: ChildProcess = spawn('sh', ['-c', `exec ${start.replace(/^functions-framework/, 'node_modules/.bin/functions-framework')}`], {
    env: {...process.env, ...env, PORT: String(port)},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = new Promise(r => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`function exited early:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return {url, pid: child.pid ?? 0, output: () => output, stop};
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`function did not become healthy:\n${output}`);
}
