/**
 * A real Kubernetes control plane (etcd + kube-apiserver) running as plain
 * processes on 127.0.0.1, for the end-to-end suite.
 *
 * The binaries are built from Go modules by scripts/build-controlplane.sh
 * (cached under .cache/controlplane/<version>/). There is no kubelet, and
 * kube-controller-manager and kube-scheduler run only when asked for
 * (`controllerManager: true`, `scheduler: true`). Without it objects are stored and go through
 * authentication, authorization (RBAC) and admission (webhooks, PodSecurity,
 * ...), but nothing reconciles them. In particular:
 *  - namespaces get no `default` ServiceAccount (use
 *    createNamespaceWithDefaultServiceAccount), and deleted namespaces stay
 *    Terminating forever;
 *  - pods stay Pending, Services get a ClusterIP but nothing routes to it, so
 *    webhooks must be registered with `clientConfig.url`, not `service`.
 * With it, Deployments make ReplicaSets and ReplicaSets make pods (through
 * admission, with the controller's retries and backoff), namespaces get
 * their `default` ServiceAccount; pods still stay Pending (no node). With
 * the scheduler too, pods are bound to Nodes, which only something that
 * plays the kubelet (kwok, scripts/bench/cluster-scale.cjs) turns Running.
 *
 * Certificates are made with the `openssl` CLI (Node cannot issue X.509
 * certificates by itself); the ServiceAccount signing key with node:crypto.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { KubeClient, isStatus, type KubeObject } from './kube';

// ---------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------

export interface ControlPlaneBinaries {
  /** Cache directory holding the binaries (.cache/controlplane/<k8s-version>). */
  dir: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  etcd: string;
}

const BUILD_SCRIPT = path.join('scripts', 'build-controlplane.sh');

let binariesPromise: Promise<ControlPlaneBinaries> | undefined;

/**
 * Runs scripts/build-controlplane.sh (a no-op when the binaries are cached;
 * several minutes the first time), streaming its progress to stderr, and
 * returns the binary paths. Memoized per process.
 */
export function ensureControlPlaneBinaries(opts: { repoRoot?: string } = {}): Promise<ControlPlaneBinaries> {
  binariesPromise ??= buildBinaries(opts.repoRoot ?? findRepoRoot()).catch((err: unknown) => {
    binariesPromise = undefined; // let a later call retry
    throw err;
  });
  return binariesPromise;
}

function buildBinaries(repoRoot: string): Promise<ControlPlaneBinaries> {
  return new Promise((resolve, reject) => {
    // stderr is inherited so the progress shows up live, even under jest.
    const child = spawn('bash', [path.join(repoRoot, BUILD_SCRIPT)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${BUILD_SCRIPT} failed (exit ${code ?? signal}); see its output above`));
        return;
      }
      // The script prints the output directory as its last stdout line.
      const dir = stdout.trim().split('\n').pop() ?? '';
      const bins: ControlPlaneBinaries = {
        dir,
        kubeApiserver: path.join(dir, 'kube-apiserver'),
        kubeControllerManager: path.join(dir, 'kube-controller-manager'),
        kubeScheduler: path.join(dir, 'kube-scheduler'),
        etcd: path.join(dir, 'etcd'),
      };
      for (const bin of [bins.kubeApiserver, bins.kubeControllerManager, bins.kubeScheduler, bins.etcd]) {
        if (!isExecutable(bin)) {
          reject(new Error(`${BUILD_SCRIPT} succeeded but ${bin} is not an executable file`));
          return;
        }
      }
      resolve(bins);
    });
  });
}

/** Walks up from this file (works from source and from a compiled dist/) and then from cwd. */
function findRepoRoot(): string {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      if (fs.existsSync(path.join(dir, BUILD_SCRIPT))) return dir;
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new Error(`cannot find ${BUILD_SCRIPT} above ${__dirname} or ${process.cwd()}; pass repoRoot`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Control plane
// ---------------------------------------------------------------------------

export interface StartControlPlaneOptions {
  /** Prebuilt binaries; default: ensureControlPlaneBinaries(). */
  binaries?: ControlPlaneBinaries;
  /** Max wait for etcd health + apiserver /readyz, in ms (default 60 000). */
  timeoutMs?: number;
  /** Appended to the kube-apiserver command line (later flags win), e.g. ['--feature-gates=...']. */
  extraApiserverArgs?: string[];
  /**
   * Also run kube-controller-manager (Deployment, ReplicaSet, Job, namespace and ServiceAccount
   * controllers, ...), authenticated with the admin certificate. Default false.
   */
  controllerManager?: boolean;
  /** Appended to the kube-controller-manager command line, e.g. ['--controllers=replicaset,deployment']. */
  extraControllerManagerArgs?: string[];
  /**
   * Also run kube-scheduler (default profile), authenticated with the admin certificate: pending
   * pods get bound to Nodes. Default false. Nothing waits for it to be ready: it serves no health
   * port here, and a pod created before it is up is bound once it is.
   */
  scheduler?: boolean;
  /** Appended to the kube-scheduler command line, e.g. ['--kube-api-qps=500']. */
  extraSchedulerArgs?: string[];
  /** Keep the temp dir (certs, logs, etcd data) after stop(), for debugging. */
  keepTempDir?: boolean;
  /** Progress messages (default: silent). */
  log?: (message: string) => void;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  url: string;
  /** CA that signed both the serving and the admin client certificate. */
  caPem: string;
  /** Client certificate for user `e2e-admin` in group `system:masters` (bypasses RBAC). */
  adminCertPem: string;
  adminKeyPem: string;
  /** A kubeconfig (JSON, which kubectl accepts) with the admin credentials. */
  kubeconfigPath: string;
  /** The --service-account-issuer, which is also the default token audience. */
  serviceAccountIssuer: string;
  /** etcd client URL (http, loopback). */
  etcdUrl: string;
  /** Temp dir holding pki/, etcd data and the *.log files of both processes. */
  tempDir: string;
  /** A KubeClient authenticated as the admin. */
  adminClient(): KubeClient;
  /**
   * Issues a certificate signed by the control plane's CA: a serving cert for
   * a webhook (then `caBundle` = base64(caPem)), or a client cert for another
   * user/groups (e.g. to test RBAC with x509 users).
   */
  issueCertificate(opts: IssueCertificateOptions): Promise<IssuedCertificate>;
  /** Last lines of every process log (for assertion messages). */
  logTail(lines?: number): string;
  /** Kills every process and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const MAX_PORT_ATTEMPTS = 3;

/** Starts etcd + kube-apiserver on free loopback ports and waits until /readyz is ok. */
export async function startControlPlane(opts: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => undefined);
  const binaries = opts.binaries ?? (await ensureControlPlaneBinaries());
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  // Ports are picked by binding :0 and releasing them, so another process can
  // grab one in between; on "address already in use" start over with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binaries, timeoutMs, opts, log);
    } catch (err) {
      if (!(err instanceof StartError && err.portConflict) || attempt >= MAX_PORT_ATTEMPTS) throw err;
      log(`port conflict, retrying with new ports (attempt ${attempt + 1})`);
    }
  }
}

class StartError extends Error {
  override readonly name = 'StartError';
  constructor(
    message: string,
    readonly portConflict: boolean,
  ) {
    super(message);
  }
}

async function startOnce(
  binaries: ControlPlaneBinaries,
  timeoutMs: number,
  opts: StartControlPlaneOptions,
  log: (message: string) => void,
): Promise<ControlPlane> {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsm-e2e-controlplane-'));
  const handle: LiveHandle = { procs: [], tempDir, keepTempDir: opts.keepTempDir ?? false };
  registerLive(handle);
  const cleanupDir = handle.keepTempDir ? '' : tempDir;

  try {
    const pki = await generatePki(path.join(tempDir, 'pki'));
    const [etcdClientPort, etcdPeerPort, apiserverPort] = await freeLoopbackPorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const url = `https://127.0.0.1:${apiserverPort}`;

    log(`starting etcd on ${etcdUrl}`);
    const etcd = spawnManaged('etcd', binaries.etcd, path.join(tempDir, 'etcd.log'), [
      '--name=e2e',
      `--data-dir=${path.join(tempDir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=e2e=${etcdPeerUrl}`,
      '--initial-cluster-state=new',
      // Throwaway data: skip fsync (what kubernetes' own integration tests do).
      '--unsafe-no-fsync',
      '--log-level=warn',
    ], cleanupDir);
    handle.procs.push(etcd);
    await waitUntil('etcd /health', deadline, [etcd], async () => {
      const res = await probe(`${etcdUrl}/health`);
      return res.statusCode === 200 && res.body.includes('"health":"true"');
    });

    log(`starting kube-apiserver on ${url}`);
    const apiserver = spawnManaged('kube-apiserver', binaries.kubeApiserver, path.join(tempDir, 'kube-apiserver.log'), [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${apiserverPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // The "kubernetes" Endpoints can't hold a loopback IP (validation
      // rejects it and the apiserver would log an error every 10 s); nothing
      // in-cluster needs it anyway.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${path.join(tempDir, 'apiserver-certs')}`,
      `--client-ca-file=${pki.caCert}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--authorization-mode=Node,RBAC',
      '--service-cluster-ip-range=10.96.0.0/16',
      // As in kubeadm/kind clusters; otherwise privileged pods are refused
      // by validation before PodSecurity admission ever sees them.
      '--allow-privileged=true',
      // Admission plugins are left at their defaults (NamespaceLifecycle,
      // ServiceAccount, PodSecurity, MutatingAdmissionWebhook,
      // ValidatingAdmissionWebhook, ResourceQuota, ...).
      '--profiling=false',
      ...(opts.extraApiserverArgs ?? []),
    ], cleanupDir);
    handle.procs.push(apiserver);

    const caPem = fs.readFileSync(pki.caCert, 'utf8');
    const adminCertPem = fs.readFileSync(pki.adminCert, 'utf8');
    const adminKeyPem = fs.readFileSync(pki.adminKey, 'utf8');
    const agent = new https.Agent({ ca: caPem, cert: adminCertPem, key: adminKeyPem, keepAlive: false });
    let lastReadyz = '';
    // /readyz only turns 200 once etcd is reachable and every post-start
    // hook ran (RBAC bootstrap roles, system namespaces, priority classes...).
    await waitUntil('kube-apiserver /readyz', deadline, [etcd, apiserver], async () => {
      const res = await probe(`${url}/readyz?verbose`, agent);
      lastReadyz = res.body;
      return res.statusCode === 200;
    }, () => (lastReadyz ? `last /readyz?verbose answer:\n${failedChecks(lastReadyz)}` : ''));

    const kubeconfigPath = path.join(tempDir, 'kubeconfig');
    fs.writeFileSync(kubeconfigPath, kubeconfig(url, caPem, adminCertPem, adminKeyPem), { mode: 0o600 });

    if (opts.controllerManager) {
      log('starting kube-controller-manager');
      const kcm = spawnManaged('kube-controller-manager', binaries.kubeControllerManager,
        path.join(tempDir, 'kube-controller-manager.log'), [
          `--kubeconfig=${kubeconfigPath}`,
          '--leader-elect=false',
          // No serving endpoint needed; 0 turns it off (no port to collide on).
          '--secure-port=0',
          // The token controller signs nothing here (tokens come from the TokenRequest API),
          // but it needs the key and the root CA to run.
          `--service-account-private-key-file=${pki.saKey}`,
          `--root-ca-file=${pki.caCert}`,
          '--service-cluster-ip-range=10.96.0.0/16',
          // Controllers act as themselves (one shared admin identity), which is enough here.
          '--use-service-account-credentials=false',
          '--profiling=false',
          ...(opts.extraControllerManagerArgs ?? []),
        ], cleanupDir);
      handle.procs.push(kcm);
      // Ready once its ServiceAccount controller has made `default` in the `default` namespace.
      const admin = new KubeClient({ url, caPem, certPem: adminCertPem, keyPem: adminKeyPem });
      await waitUntil('kube-controller-manager (the default ServiceAccount)', deadline, [etcd, apiserver, kcm], async () => {
        await admin.get('/api/v1/namespaces/default/serviceaccounts/default');
        return true;
      });
    }
    if (opts.scheduler) {
      log('starting kube-scheduler');
      handle.procs.push(spawnManaged('kube-scheduler', binaries.kubeScheduler,
        path.join(tempDir, 'kube-scheduler.log'), [
          `--kubeconfig=${kubeconfigPath}`,
          '--leader-elect=false',
          // No serving endpoint needed; 0 turns it off (no port to collide on).
          '--secure-port=0',
          '--profiling=false',
          ...(opts.extraSchedulerArgs ?? []),
        ], cleanupDir));
    }
    log(`control plane ready in ${Date.now() - t0} ms`);

    let stopping: Promise<void> | undefined;
    let issued = 0;
    return {
      url,
      caPem,
      adminCertPem,
      adminKeyPem,
      kubeconfigPath,
      serviceAccountIssuer: SERVICE_ACCOUNT_ISSUER,
      etcdUrl,
      tempDir,
      adminClient: () => new KubeClient({ url, caPem, certPem: adminCertPem, keyPem: adminKeyPem }),
      issueCertificate: (certOpts) => issueCertificate(pki.dir, `issued-${++issued}`, certOpts),
      logTail: (lines = 40) => logTails(handle.procs, lines),
      stop: () => (stopping ??= stopHandle(handle)),
    };
  } catch (err) {
    let tails = logTails(handle.procs, 40);
    if (!handle.keepTempDir && handle.procs.length > 0) {
      tails += '\n(the temp dir is removed; pass keepTempDir: true to keep the full logs)';
    }
    await stopHandle(handle);
    const message = err instanceof Error ? err.message : String(err);
    throw new StartError(
      `control plane failed to start: ${message}\n${tails}`,
      /address already in use/i.test(tails),
    );
  }
}

/**
 * Creates a namespace and its `default` ServiceAccount (normally created by
 * kube-controller-manager, which isn't running; without it the ServiceAccount
 * admission plugin rejects every pod in the namespace).
 */
export async function createNamespaceWithDefaultServiceAccount(
  client: KubeClient,
  name: string,
  opts: { labels?: Record<string, string> } = {},
): Promise<KubeObject> {
  const ns = await client.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, ...(opts.labels ? { labels: opts.labels } : {}) },
  });
  await createDefaultServiceAccount(client, name);
  return ns;
}

/**
 * Creates the `default` ServiceAccount of an existing namespace (e.g. of the
 * built-in `default` namespace); a no-op if it already exists.
 */
export async function createDefaultServiceAccount(client: KubeClient, namespace: string): Promise<void> {
  try {
    await client.create(`/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default' },
    });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

interface ManagedProcess {
  name: string;
  /** pid of the binary, and id of its own process group. */
  pid: number;
  child: ChildProcess;
  logPath: string;
  /** Set once the binary exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exited: Promise<void>;
}

/**
 * bash runs a watchdog in the background that blocks reading its stdin, a
 * pipe from this Node process, then execs the binary (so the binary keeps the
 * pid Node knows). When Node dies for any reason, even SIGKILL (which skips
 * the 'exit' hook), the pipe closes, `read` returns EOF and the watchdog kills
 * the binary, removes the temp dir ($1, if not empty) and kills the rest of
 * the process group. stop() kills the whole group first, watchdog included.
 * (`<&0` is needed: bash gives background jobs /dev/null as stdin otherwise.)
 */
const WATCHDOG =
  'dir=$1; shift; ' +
  '(while read -r _; do :; done; kill -KILL $$; sleep 0.2; [ -z "$dir" ] || rm -rf -- "$dir"; kill -KILL 0) <&0 & ' +
  'exec "$@" </dev/null';

function spawnManaged(
  name: string,
  binary: string,
  logPath: string,
  args: string[],
  cleanupDir: string,
): ManagedProcess {
  if (!isExecutable(binary)) throw new Error(`${name} binary not found or not executable: ${binary}`);
  const logFd = fs.openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    // detached: own process group, so stop() can kill the binary and its
    // watchdog with one kill(-pgid).
    child = spawn('bash', ['-c', WATCHDOG, name, cleanupDir, binary, ...args], {
      detached: true,
      stdio: ['pipe', logFd, logFd],
    });
  } finally {
    fs.closeSync(logFd);
  }
  if (child.pid === undefined) throw new Error(`failed to spawn ${name} (is bash installed?)`);

  const proc: ManagedProcess = { name, pid: child.pid, child, logPath, exit: undefined, exited: Promise.resolve() };
  proc.exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      proc.exit = { code, signal };
      resolve();
    });
    child.on('error', () => resolve());
  });
  // Neither the child nor the watchdog pipe should keep the event loop (a
  // jest worker) alive; the exit hook and the watchdog clean up instead.
  child.unref();
  if (child.stdin instanceof net.Socket) child.stdin.unref();
  child.stdin?.on('error', () => undefined); // EPIPE once the group is gone
  return proc;
}

interface LiveHandle {
  procs: ManagedProcess[];
  tempDir: string;
  keepTempDir: boolean;
}

const live = new Set<LiveHandle>();
let exitHookInstalled = false;

function registerLive(handle: LiveHandle): void {
  live.add(handle);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Only synchronous work is possible here.
  process.on('exit', () => {
    for (const h of live) {
      for (const p of h.procs) killGroup(p.pid);
      if (!h.keepTempDir) fs.rmSync(h.tempDir, { recursive: true, force: true });
    }
  });
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: already gone.
  }
}

/**
 * SIGKILL, not SIGTERM: the data is thrown away anyway, and a graceful
 * shutdown costs ~2.5 s for the apiserver and ~2 s for etcd.
 */
async function stopHandle(handle: LiveHandle): Promise<void> {
  for (const p of [...handle.procs].reverse()) {
    killGroup(p.pid);
    p.child.stdin?.destroy();
    await withTimeout(p.exited, 10_000);
  }
  live.delete(handle);
  if (!handle.keepTempDir) await fs.promises.rm(handle.tempDir, { recursive: true, force: true });
}

function logTails(procs: ManagedProcess[], lines: number): string {
  return procs
    .map((p) => {
      const state = p.exit ? ` (exited: code ${p.exit.code}, signal ${p.exit.signal})` : '';
      return `--- last ${lines} lines of ${p.name} log ${p.logPath}${state} ---\n${tailFile(p.logPath, lines)}`;
    })
    .join('\n');
}

function tailFile(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').filter(Boolean).slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `check` every 200 ms until it returns true, the deadline passes or a process exits. */
async function waitUntil(
  what: string,
  deadline: number,
  procs: ManagedProcess[],
  check: () => Promise<boolean>,
  extraInfo: () => string = () => '',
): Promise<void> {
  let lastError = '';
  for (;;) {
    const dead = procs.find((p) => p.exit !== undefined);
    if (dead) {
      throw new Error(`${dead.name} exited (code ${dead.exit?.code}, signal ${dead.exit?.signal}) while waiting for ${what}`);
    }
    try {
      if (await check()) return;
      lastError = '';
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const info = [lastError && `last error: ${lastError}`, extraInfo()].filter(Boolean).join('\n');
      throw new Error(`timed out waiting for ${what}${info ? `\n${info}` : ''}`);
    }
    await sleep(200);
  }
}

function probe(url: string, agent?: https.Agent): Promise<{ statusCode: number; body: string }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    const req = url.startsWith('https:') ? https.get(url, { agent }, onResponse) : http.get(url, onResponse);
    req.setTimeout(2_000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/** Lines of a /readyz?verbose body that report a failing check. */
function failedChecks(body: string): string {
  const failed = body.split('\n').filter((l) => l.startsWith('[-]'));
  return (failed.length > 0 ? failed : body.split('\n').slice(-10)).join('\n');
}

/** Binds `count` ephemeral ports on 127.0.0.1 at once (so they are distinct), then releases them. */
async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      return new Promise<net.Server>((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve(srv));
      });
    }),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------
// PKI
// ---------------------------------------------------------------------------

interface Pki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

export interface IssueCertificateOptions {
  /** Subject CN; for a client certificate this is the Kubernetes user name. */
  commonName: string;
  /** Subject O values; for a client certificate these are the user's groups. */
  organizations?: string[];
  /** 'server' (default): serverAuth with SANs; 'client': clientAuth. */
  usage?: 'server' | 'client';
  /** Server SANs; default ['127.0.0.1', 'localhost']. IPs and DNS names are told apart automatically. */
  hosts?: string[];
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** The CA that signed it (the control plane's CA). */
  caPem: string;
}

/**
 * A minimal config so `openssl req` doesn't depend on the system openssl.cnf;
 * the subject comes from -subj.
 */
const OPENSSL_CNF = '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n';
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const CERT_DAYS = '7';

/** CA, apiserver serving cert, admin client cert (ECDSA P-256) and the ServiceAccount key pair. */
async function generatePki(dir: string): Promise<Pki> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string): string => path.join(dir, name);
  fs.writeFileSync(f('openssl.cnf'), OPENSSL_CNF);

  await openssl(['req', '-config', f('openssl.cnf'), '-x509', ...NEW_EC_KEY, '-keyout', f('ca.key'),
    '-out', f('ca.crt'), '-days', CERT_DAYS, '-sha256', '-subj', '/CN=nsm-e2e-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);

  await Promise.all([
    issueCertificate(dir, 'apiserver', {
      commonName: 'kube-apiserver',
      hosts: ['127.0.0.1', 'localhost', '10.96.0.1', 'kubernetes', 'kubernetes.default',
        'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    }),
    // The apiserver maps O= to groups: system:masters is cluster-admin, bypassing RBAC.
    issueCertificate(dir, 'admin', { commonName: 'e2e-admin', organizations: ['system:masters'], usage: 'client' }),
  ]);

  const sa = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(f('sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fs.writeFileSync(f('sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));

  return {
    dir,
    caCert: f('ca.crt'),
    serverCert: f('apiserver.crt'),
    serverKey: f('apiserver.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    saKey: f('sa.key'),
    saPub: f('sa.pub'),
  };
}

/** Issues `<dir>/<name>.{crt,key}` signed by `<dir>/ca.{crt,key}`. */
async function issueCertificate(dir: string, name: string, opts: IssueCertificateOptions): Promise<IssuedCertificate> {
  const f = (file: string): string => path.join(dir, file);
  // Escape the characters that are special in an openssl -subj string.
  const rdn = (v: string): string => v.replace(/[\\/=+,]/g, (c) => `\\${c}`);
  const subject = [...(opts.organizations ?? []).map((o) => `/O=${rdn(o)}`), `/CN=${rdn(opts.commonName)}`].join('');
  let ext = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n';
  if (opts.usage === 'client') {
    ext += 'extendedKeyUsage=clientAuth\n';
  } else {
    const sans = (opts.hosts ?? ['127.0.0.1', 'localhost']).map((h) => (net.isIP(h) ? `IP:${h}` : `DNS:${h}`));
    ext += `extendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}\n`;
  }
  fs.writeFileSync(f(`${name}.ext`), ext);
  await openssl(['req', '-config', f('openssl.cnf'), '-new', ...NEW_EC_KEY, '-keyout', f(`${name}.key`),
    '-out', f(`${name}.csr`), '-subj', subject]);
  await openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
    '-set_serial', `0x${crypto.randomBytes(16).toString('hex')}`, '-days', CERT_DAYS, '-sha256',
    '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`)]);
  return {
    certPem: fs.readFileSync(f(`${name}.crt`), 'utf8'),
    keyPem: fs.readFileSync(f(`${name}.key`), 'utf8'),
    caPem: fs.readFileSync(f('ca.crt'), 'utf8'),
  };
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (err, _stdout, stderr) => {
      if (!err) {
        resolve();
        return;
      }
      const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is the openssl CLI installed?)' : '';
      reject(new Error(`openssl ${args.slice(0, 2).join(' ')} failed${hint}: ${stderr || err.message}`));
    });
  });
}

/** kubectl reads YAML, and JSON is YAML, so no serializer is needed. */
function kubeconfig(url: string, caPem: string, certPem: string, keyPem: string): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: url, 'certificate-authority-data': b64(caPem) } }],
      users: [{ name: 'e2e-admin', user: { 'client-certificate-data': b64(certPem), 'client-key-data': b64(keyPem) } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'e2e-admin' } }],
      'current-context': 'e2e',
    },
    null,
    2,
  );
}
