/**
 * The real cluster the suite runs against. scripts/cluster/test.sh brings it up (scripts/cluster/cluster.sh),
 * builds and loads the injector's image, and passes what the suite needs in the environment:
 * KUBECONFIG and PATH from `cluster.sh env` (kubectl v1.36 first), NSM_CLUSTER_STATE, NSM_CLUSTER_NODE_IP,
 * NSM_INJECTOR_IMAGE, and NSM_CLUSTER_FIGURES (where measured figures go).
 */
import {execFile} from 'node:child_process';
import {appendFileSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {KubeClient} from '../../e2e/harness/kube';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: run the suite with npm run test:cluster`);
  return value;
}

export const clusterState = (): string => required('NSM_CLUSTER_STATE');
export const injectorImage = (): string => required('NSM_INJECTOR_IMAGE');

/** The admin client (x509, system:masters) over node:https, for the loops that kubectl would make slow. */
export function admin(): KubeClient {
  const pki = join(clusterState(), 'pki');
  return new KubeClient({
    url: `https://${required('NSM_CLUSTER_NODE_IP')}:6443`,
    caPem: readFileSync(join(pki, 'ca.crt'), 'utf8'),
    certPem: readFileSync(join(pki, 'admin.crt'), 'utf8'),
    keyPem: readFileSync(join(pki, 'admin.key'), 'utf8'),
  });
}

/** Runs kubectl (the cluster's, first on PATH) and resolves with its stdout; rejects with its stderr. */
export function kubectl(args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', args, {maxBuffer: 64 * 1024 * 1024}, (error, stdout, stderr) => {
      if (error) reject(new Error(`kubectl ${args.join(' ')}: ${stderr || error.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function kubectlJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/**
 * Polls `attempt` until it returns a value (not undefined), or fails naming what it waited for and the
 * last error. For waiting on the cluster, never for asserting timings.
 */
export async function until<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

/**
 * A measured figure for docs/deploy.md: printed, and appended as a JSON line to NSM_CLUSTER_FIGURES
 * (scripts/cluster/test.sh prints them all at the end). Figures are reported, never asserted.
 */
export function figure(name: string, value: number, unit: string): void {
  const line = JSON.stringify({name, value, unit});
  process.stdout.write(`[figure] ${name}: ${value} ${unit}\n`);
  const file = process.env.NSM_CLUSTER_FIGURES;
  if (file) appendFileSync(file, `${line}\n`);
}

/**
 * The apiserver's own count of calls to our webhook that failed and were let through without a
 * mutation (failurePolicy Ignore): apiserver_admission_webhook_fail_open_count. The truest measure of
 * "admitted without sidecars", whatever object the call was for.
 */
export async function webhookFailOpenCount(): Promise<number> {
  const text = await kubectl(['get', '--raw', '/metrics']);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('apiserver_admission_webhook_fail_open_count{') && line.includes('name="sidecar-injector.networkservicemesh.io"')) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}
