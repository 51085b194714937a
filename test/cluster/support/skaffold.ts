/**
 * Skaffold (v2.16.1 from scripts/cluster/build-skaffold.sh, on PATH) as the real-cluster suites run it:
 * one process, its output collected, stopped with Ctrl-C (SIGINT, which makes `skaffold dev` clean up
 * what it deployed) or, if that hangs, killed.
 */
import {spawn} from 'node:child_process';
import {resolve} from 'node:path';

export const REPO = resolve(__dirname, '../../..');

export interface Skaffold {
  output(): string;
  exited: Promise<number | null>;
  interrupt(): void;
  kill(): void;
}

export function skaffold(args: readonly string[], cwd = REPO): Skaffold {
  const child = spawn('skaffold', args, {cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return {
    output: () => output,
    exited: new Promise(r => child.on('exit', code => r(code))),
    interrupt: () => child.kill('SIGINT'),
    kill: () => child.kill('SIGKILL'),
  };
}

/** Runs skaffold to its end: exit code, output, and how long it took. */
export async function runSkaffold(args: readonly string[]): Promise<{code: number | null; output: string; seconds: number}> {
  const t0 = Date.now();
  const s = skaffold(args);
  const code = await s.exited;
  return {code, output: s.output(), seconds: (Date.now() - t0) / 1000};
}

/**
 * Ctrl-C, then up to 2 minutes for skaffold to clean up and exit; killed if it is still running then.
 * Returns its exit code, or a string saying it had to be killed.
 */
export async function stopSkaffold(s: Skaffold): Promise<number | null | string> {
  s.interrupt();
  const code = await Promise.race([s.exited, new Promise<string>(r => setTimeout(() => r('still running 120 s after Ctrl-C'), 120_000).unref())]);
  if (typeof code === 'string') s.kill();
  return code;
}
