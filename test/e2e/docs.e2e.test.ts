/**
 * The docs' commands that need an apiserver, run with kubectl against a real one with the injector's
 * webhook registered (test/docs.test.ts checks that every command block is run somewhere or says
 * why not): docs/deploy.md's "Try it" and docs/namespaces.md's namespace-wide opt-in. Pods stay
 * Pending (there is no node); what is checked is what admission stored.
 */
import {execFileSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import {blockWith} from '../support/doc-blocks';
import {ensureControlPlaneBinaries} from './harness/controlplane';
import {eventually, startCluster, type Cluster} from './support/cluster';

let cluster: Cluster;
let kubectl: string;
// The controller-manager creates each namespace's default ServiceAccount, as in a real cluster.
beforeAll(async () => {
  const binaries = await ensureControlPlaneBinaries();
  kubectl = existsSync(join(binaries.dir, 'kubectl')) ? join(binaries.dir, 'kubectl') : 'kubectl';
  cluster = await startCluster({controllerManager: true});
});
afterAll(async () => cluster?.stop());

/** One command line of the docs, with `kubectl` being the control plane's and KUBECONFIG its admin's. */
function sh(line: string): string {
  return execFileSync('sh', ['-ec', line.replace(/^kubectl /, `${kubectl} `)], {encoding: 'utf8', env: {...process.env, KUBECONFIG: cluster.cp.kubeconfigPath}});
}

/**
 * Runs a line; retries while the new namespace's default ServiceAccount isn't there yet (the
 * controller-manager creates it a moment after the namespace, on any cluster).
 */
async function run(line: string): Promise<string> {
  return eventually(`\`${line}\``, async () => {
    try {
      return sh(line);
    } catch (error) {
      if (String((error as {stderr?: string}).stderr).includes('serviceaccount "default" not found')) return undefined;
      throw error;
    }
  });
}

const commands = (text: string): string[] => text.split('\n').filter(l => l.trim() !== '' && !l.startsWith('#'));

describe('docs/deploy.md, "Try it"', () => {
  it('prints the container names the docs say, and the pod carries the status annotation', async () => {
    const block = blockWith('docs/deploy.md', 'kubectl create namespace apps');
    const lines = commands(block.text);
    expect(lines).toHaveLength(3);
    let printed = '';
    for (const line of lines) printed = await run(line);
    // The comment under the commands: `# <what the last one prints>   (and ...)`.
    const expected = /^# (.*?)\s{2,}\(/m.exec(block.text)?.[1];
    expect(printed.trim()).toBe(expected);
    expect(sh("kubectl -n apps get pod client -o jsonpath='{.metadata.annotations}'")).toContain('sidecar-injector.networkservicemesh.io/status');
  });
});

describe('docs/namespaces.md, namespace-wide opt-in', () => {
  it('after the annotate command, a pod without its own annotation is injected', async () => {
    const [annotate] = commands(blockWith('docs/namespaces.md', 'kubectl annotate ns apps').text);
    await run(annotate ?? '');
    // The function caches namespaces briefly (NAMESPACE_CACHE_TTL_SECONDS=1 here): ask until it sees the annotation.
    const names = await eventually('a pod in apps to be injected', async () => {
      const out = sh("kubectl -n apps run plain --image=alpine --dry-run=server -o jsonpath='{.spec.initContainers[*].name} {.spec.containers[*].name}'");
      return out.includes('cmd-nsc') ? out : undefined;
    });
    expect(names).toBe('cmd-nsc-init plain cmd-nsc');
  });
});
