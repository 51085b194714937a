#!/usr/bin/env node
/**
 * Admission at cluster scale (docs/benchmarks.md, "Admission at cluster scale"): a real etcd,
 * kube-apiserver, kube-controller-manager and kube-scheduler (one v1.36.3 build, the e2e suite's
 * harness) with kwok playing the kubelet of fake nodes; a Deployment scaled 0 -> 2,000 pods, its pods
 * made by the real ReplicaSet controller through real admission, bound by the real scheduler, turned
 * Running by kwok. The function runs as two processes of its deployment-profile HTTPS entry
 * (`node dist/functions/https/main.js`, real TLS) behind a loopback TCP round-robin (what a Service
 * does for the apiserver), registered with the manifests' MutatingWebhookConfiguration.
 *
 *   npm run bench:cluster [-- --pods 2000] [--rounds 2] [--client-qps 500]
 *
 * Scenarios, each in a fresh namespace, in ABBA order round after round (no scenario always first):
 *   annotated  pods asking for network services, the webhook registered (every pod injected)
 *   plain      pods that don't ask, the webhook registered (every pod reviewed, none changed)
 *   annotated-none, plain-none  the same two with the webhook configuration deleted
 *   injected-none  the annotated template injected beforehand by nsm-inject, the webhook deleted: what
 *              the bigger pods cost the control plane and kwok without any webhook call
 * Figures per run: pods created per second (from the scale request until the apiserver lists all of
 * them, polled every 250 ms), seconds until the Deployment counts them all available (scheduled and
 * Running through kwok); from the apiserver's own metrics, before and after: our webhook's calls, the
 * p99 of apiserver_admission_webhook_admission_duration_seconds (bucket bounds 5, 25, 100, 500 ms...:
 * the p99 is given as the bucket holding it, the share of calls <= 25 ms, and histogram_quantile's
 * interpolation), apiserver_admission_webhook_rejection_count and _fail_open_count, the webhook
 * request codes; the pods actually injected; both replicas' RSS (/proc/<pid>/status) and CPU time.
 * Also printed: the 1-minute load average before and after (run it on a quiet machine).
 *
 * --client-qps N sets kube-controller-manager's and kube-scheduler's client rate limits (QPS and
 * burst) to N; 0 keeps their defaults (kcm 20/30, scheduler 50/100), which cap pod creation at about
 * 20 per second whatever admission costs. Default 500.
 * Takes ~30 s to start (kwok cached; ~5 min the first time: scripts/cluster/build-kwok.sh) and 2 to
 * 3.5 min per run of 2,000 pods (scale up, all available, scale down, namespace gone) at --client-qps
 * 500 on 2 busy cores: 26 min for the default warm-up + 2 rounds of 5. Every wait has a ceiling.
 * Loopback only; every child is killed at the end. `--report FILE` prints the tables of a saved run.
 * Figures go to .cache/bench/cluster-scale.json. Nothing is asserted.
 */
'use strict';
const {execFileSync, spawn} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
process.chdir(ROOT);

// The harness is TypeScript (test/e2e/, test/support/).
require('./lib/require-ts.cjs');
const {startCluster, eventually} = require('../../test/e2e/support/cluster.ts');
const {render, pick, collectionPath} = require('../../test/e2e/support/manifests.ts');
const {changesBy, parseSamples, sumOfChanges} = require('../../test/support/prom-text.ts');
const {freePort} = require('../../test/support/process.ts');
const {bucketsOf, bucketDelta, quantile, shareAtMost} = require('../../test/support/histogram.ts');
const {startRoundRobin} = require('./lib/tcp-round-robin.cjs');
const {parse} = require('yaml');

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const PODS = option('pods', 2000);
const ROUNDS = option('rounds', 2);
const CLIENT_QPS = option('client-qps', 500);
const PODS_PER_NODE = 110; // the kubelet's default max-pods
const NODES = Math.ceil((PODS * 1.1) / PODS_PER_NODE);
const NSM = 'networkservicemesh.io';
const KWOK_NODE = 'kwok.x-k8s.io/node';
const DURATION = 'apiserver_admission_webhook_admission_duration_seconds';
const SCENARIOS = {
  annotated: {annotated: true, webhook: true},
  plain: {annotated: false, webhook: true},
  'annotated-none': {annotated: true, webhook: false},
  'plain-none': {annotated: false, webhook: false},
  'injected-none': {annotated: true, webhook: false, preInjected: true},
};
// Ceilings: creation at >= 5 pods/s, availability and deletion within 5 min.
const CREATE_CEILING_MS = Math.max(120_000, PODS * 200);
const SETTLE_CEILING_MS = 300_000;
const POLL_MS = 250;
const log = message => process.stderr.write(`[cluster-scale bench] ${message}\n`);
const load1 = () => os.loadavg()[0].toFixed(2);
const sleep = ms => new Promise(r => setTimeout(r, ms));

/** Runs scripts/cluster/build-kwok.sh (cached: < 1 s), its progress on stderr; resolves to its output folder. */
function buildKwok() {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/cluster/build-kwok.sh'], {stdio: ['ignore', 'pipe', 'inherit']});
    let out = '';
    child.stdout.on('data', d => (out += d));
    child.on('error', reject);
    child.on('close', code => (code === 0 ? resolve(out.trim().split('\n').pop()) : reject(new Error(`build-kwok.sh exited ${code}`))));
  });
}

/** kwok managing the Nodes annotated kwok.x-k8s.io/node=fake, with upstream's fast stages; killed with this process. */
function startKwok(dir, kubeconfig, logPath) {
  const stages = fs.readdirSync(path.join(dir, 'stages')).map(f => `--config=${path.join(dir, 'stages', f)}`);
  const logFd = fs.openSync(logPath, 'a');
  const child = spawn(path.join(dir, 'kwok'), [
    `--kubeconfig=${kubeconfig}`,
    '--manage-all-nodes=false',
    `--manage-nodes-with-annotation-selector=${KWOK_NODE}=fake`,
    // The fake pods' IPs; nothing routes to them.
    '--cidr=10.0.0.1/16',
    '--node-ip=10.0.0.1',
    ...stages,
  ], {detached: true, stdio: ['ignore', logFd, logFd]});
  fs.closeSync(logFd);
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', kill);
  return {child, kill};
}

function node(i) {
  const name = `kwok-node-${i}`;
  const resources = {cpu: '32', memory: '256Gi', pods: String(PODS_PER_NODE)};
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {name, annotations: {[KWOK_NODE]: 'fake', 'node.alpha.kubernetes.io/ttl': '0'}, labels: {'kubernetes.io/hostname': name, type: 'kwok'}},
    status: {allocatable: resources, capacity: resources},
  };
}

/** The annotated Deployment as nsm-inject writes it: its pod template already holds the sidecars. */
function preInjected() {
  const out = execFileSync(process.execPath, ['dist/functions/cli/main.js', '-f', '-'], {input: JSON.stringify(deployment(true)), encoding: 'utf8'});
  const injected = parse(out);
  if (injected.spec.template.spec.containers.length < 2) throw new Error(`nsm-inject did not inject the template:\n${out}`);
  return injected;
}

function deployment(annotated) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name: 'scale'},
    spec: {
      replicas: 0,
      selector: {matchLabels: {app: 'scale'}},
      template: {
        metadata: {labels: {app: 'scale'}, ...(annotated ? {annotations: {[NSM]: 'kernel://icmp-responder/nsm-1'}} : {})},
        spec: {containers: [{name: 'app', image: 'alpine:3.20'}]},
      },
    },
  };
}

const METRICS = [`${DURATION}_bucket{`, `${DURATION}_count{`, `${DURATION}_sum{`, 'apiserver_admission_webhook_rejection_count{', 'apiserver_admission_webhook_fail_open_count{', 'apiserver_admission_webhook_request_total{'];

async function scrape(admin) {
  const text = await admin.getText('/metrics');
  return parseSamples(text.split('\n').filter(l => METRICS.some(m => l.startsWith(m))).join('\n'));
}

/** RSS in MiB and CPU seconds (user + system) of a process, from /proc. */
function usage(pid) {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the line)
  return {rssMiB: rssKb / 1024, cpuS: ticks / 100};
}

/**
 * The control plane's processes and kwok (every command line naming the control plane's temp dir),
 * by binary name: where the CPU of a run goes, next to the function's.
 */
function componentPids(tempDir) {
  const pids = {};
  for (const pid of fs.readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    // The binary itself, not the harness's bash watchdog around it.
    if (argv.some(a => a.includes(tempDir)) && !argv[0].endsWith('bash')) pids[path.basename(argv[0])] = Number(pid);
  }
  return pids;
}

/** CPU seconds of each component, and of this bench process (its polling and the TCP front). */
function componentCpu(pids) {
  const cpu = {};
  for (const [name, pid] of Object.entries(pids)) cpu[name] = usage(pid).cpuS;
  const own = process.cpuUsage();
  cpu.bench = (own.user + own.system) / 1e6;
  return cpu;
}

/** Pods in a namespace, without listing them: a page of one and the apiserver's count of the rest. */
async function podCount(admin, namespace) {
  const page = await admin.list(`/api/v1/namespaces/${namespace}/pods`, {query: {limit: '1'}});
  return page.items.length + (page.metadata?.remainingItemCount ?? 0);
}

/** Polls `check` every POLL_MS until it returns true; the time it did, or throws past the ceiling. */
async function until(what, ceilingMs, check) {
  const deadline = Date.now() + ceilingMs;
  for (;;) {
    if (await check()) return process.hrtime.bigint();
    if (Date.now() > deadline) throw new Error(`timed out after ${ceilingMs / 1000} s waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

async function main() {
  const kwokDir = await buildKwok();
  const loadBefore = load1();
  log(`load average ${loadBefore}; starting a control plane (with kube-controller-manager and kube-scheduler), kwok and the function`);
  const qps = CLIENT_QPS > 0 ? [`--kube-api-qps=${CLIENT_QPS}`, `--kube-api-burst=${CLIENT_QPS}`] : [];
  const cluster = await startCluster({
    controllerManager: true,
    controllerManagerArgs: qps,
    scheduler: true,
    schedulerArgs: qps,
    // The deployment profile's own settings, not the e2e suite's 1 s namespace cache.
    webhookEnv: {NAMESPACE_CACHE_TTL_SECONDS: undefined},
  });
  const admin = cluster.admin;
  const results = [];
  let replica;
  let front;
  let kwok;
  try {
    kwok = startKwok(kwokDir, cluster.cp.kubeconfigPath, path.join(cluster.cp.tempDir, 'kwok.log'));
    for (let i = 0; i < NODES; i++) await admin.create('/api/v1/nodes', node(i));
    await eventually(`${NODES} kwok nodes to be Ready`, async () => {
      const nodes = await admin.list('/api/v1/nodes');
      const ready = nodes.items.filter(n => n.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True'));
      return ready.length === NODES ? true : undefined;
    }, 60_000);

    // The second replica, and the front both are reached through (the webhook's URL from now on).
    replica = await cluster.startReplica(await freePort());
    const replicas = [cluster.webhook, replica];
    const components = componentPids(cluster.cp.tempDir);
    log(`components: ${JSON.stringify(components)}`);
    front = await startRoundRobin(replicas.map(r => r.port));
    const manifests = render('deployment');
    const webhookName = pick(manifests, 'MutatingWebhookConfiguration').webhooks[0].name;
    const registered = {
      ...cluster.webhookConfig,
      webhooks: cluster.webhookConfig.webhooks.map(w => ({...w, clientConfig: {...w.clientConfig, url: `https://127.0.0.1:${front.port}/mutate`}})),
    };
    const configPath = `${collectionPath(registered)}/${registered.metadata.name}`;
    const probe = {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'probe'}, spec: {containers: [{name: 'app', image: 'alpine'}]}};
    // The harness's probe namespace asks for network services: a dry-run pod there is injected iff the apiserver calls us.
    const injectedProbe = async () => (await admin.create('/api/v1/namespaces/probe/pods', probe, {dryRun: true})).spec.containers.length > 1;
    let webhookOn = true;
    async function useWebhook(on) {
      if (on === webhookOn) return;
      if (on) await admin.create(collectionPath(registered), registered);
      else await admin.delete(configPath);
      await eventually(`the webhook to be ${on ? 'called' : 'gone'}`, async () => ((await injectedProbe()) === on ? true : undefined), 30_000);
      webhookOn = on;
    }
    await admin.delete(configPath);
    await admin.create(collectionPath(registered), registered);
    await eventually('the webhook to be called through the front', async () => ((await injectedProbe()) && front.connections.some(c => c > 0) ? true : undefined), 30_000);

    async function run(scenario, round, record = true) {
      const {annotated, webhook, preInjected: injectedTemplate} = SCENARIOS[scenario];
      await useWebhook(webhook);
      const namespace = `scale-${scenario}-${round}`;
      await cluster.namespace(namespace);
      const deployments = `/apis/apps/v1/namespaces/${namespace}/deployments`;
      await admin.create(deployments, injectedTemplate ? preInjected() : deployment(annotated));
      await eventually('the ReplicaSet', async () => ((await admin.list(`/apis/apps/v1/namespaces/${namespace}/replicasets`)).items.length === 1 ? true : undefined), 30_000);

      const loadAtStart = Number(load1());
      const before = await scrape(admin);
      const usageBefore = replicas.map(r => usage(r.pid));
      const cpuBefore = componentCpu(components);
      const connectionsBefore = [...front.connections];
      const started = process.hrtime.bigint();
      await admin.patch(`${deployments}/scale`, {spec: {replicas: PODS}});
      const created = await until(`${PODS} pods to be created`, CREATE_CEILING_MS, async () => (await podCount(admin, namespace)) >= PODS);
      const available = await until(`${PODS} pods to be available`, SETTLE_CEILING_MS, async () => ((await admin.get(`${deployments}/scale`)).status?.availableReplicas ?? 0) >= PODS);
      const after = await scrape(admin);
      const usageAfter = replicas.map(r => usage(r.pid));
      const cpuAfter = componentCpu(components);

      const pods = (await admin.list(`/api/v1/namespaces/${namespace}/pods`)).items;
      const calls = {name: webhookName};
      const buckets = bucketDelta(bucketsOf(before, DURATION, calls), bucketsOf(after, DURATION, calls));
      const p99 = quantile(0.99, buckets);
      const seconds = (from, to) => Number(to - from) / 1e9;
      const r = {
        scenario,
        round,
        load1: loadAtStart,
        pods: pods.length,
        injected: pods.filter(p => p.spec.containers.length > 1).length,
        running: pods.filter(p => p.status?.phase === 'Running').length,
        createS: seconds(started, created),
        podsPerS: PODS / seconds(started, created),
        availableS: seconds(started, available),
        webhookCalls: sumOfChanges(before, after, `${DURATION}_count`, calls),
        webhookMeanMs: (sumOfChanges(before, after, `${DURATION}_sum`, calls) / Math.max(1, sumOfChanges(before, after, `${DURATION}_count`, calls))) * 1e3,
        p99Ms: p99 === undefined ? null : {estimate: p99.estimate * 1e3, lower: p99.lower * 1e3, upper: p99.upper * 1e3},
        shareAtMost25ms: shareAtMost(0.025, buckets) ?? null,
        buckets: buckets.map(b => ({le: b.le === Infinity ? '+Inf' : b.le, count: b.count})),
        rejections: sumOfChanges(before, after, 'apiserver_admission_webhook_rejection_count', calls),
        failOpen: sumOfChanges(before, after, 'apiserver_admission_webhook_fail_open_count', calls),
        requestCodes: changesBy(before, after, 'apiserver_admission_webhook_request_total', calls, 'code'),
        replicaConnections: front.connections.map((c, i) => c - connectionsBefore[i]),
        replicaRssMiB: usageBefore.map((u, i) => ({before: u.rssMiB, after: usageAfter[i].rssMiB})),
        replicaCpuS: usageBefore.map((u, i) => usageAfter[i].cpuS - u.cpuS),
        componentCpuS: Object.fromEntries(Object.keys(cpuAfter).map(k => [k, Number((cpuAfter[k] - cpuBefore[k]).toFixed(2))])),
      };
      if (record) results.push(r);
      log(`${record ? '' : '(warm-up) '}${scenario.padEnd(14)} round ${round}: ${r.pods} pods (${r.injected} injected, ${r.running} Running), ` +
        `created in ${r.createS.toFixed(1)} s = ${r.podsPerS.toFixed(1)} pods/s, available in ${r.availableS.toFixed(1)} s; ` +
        `webhook calls ${r.webhookCalls}, p99 ${r.p99Ms === null ? '-' : `in (${r.p99Ms.lower}, ${r.p99Ms.upper}] ms ~${r.p99Ms.estimate.toFixed(1)}`}, ` +
        `<= 25 ms ${r.shareAtMost25ms === null ? '-' : (r.shareAtMost25ms * 100).toFixed(2)} %, rejections ${r.rejections}, fail-open ${r.failOpen}, codes ${JSON.stringify(r.requestCodes)}; ` +
        `new connections ${r.replicaConnections.join(' + ')}, RSS ${r.replicaRssMiB.map(x => `${x.before.toFixed(0)}->${x.after.toFixed(0)}`).join(', ')} MiB, CPU ${r.replicaCpuS.map(x => x.toFixed(1)).join(' + ')} s; others' CPU ${JSON.stringify(r.componentCpuS)}`);

      // Back to an empty namespace before the next run: the ReplicaSet controller deletes the pods,
      // kwok finishes their deletion, then the namespace goes (the store stays the same size).
      await admin.patch(`${deployments}/scale`, {spec: {replicas: 0}});
      await until(`the pods of ${namespace} to be deleted`, SETTLE_CEILING_MS, async () => (await podCount(admin, namespace)) === 0);
      await admin.delete(`/api/v1/namespaces/${namespace}`);
      await until(`namespace ${namespace} to be gone`, SETTLE_CEILING_MS, async () => admin.get(`/api/v1/namespaces/${namespace}`).then(() => false, () => true));
    }

    // Warm-up, not recorded: the first scale-up after start-up pays for caches, connections and JIT.
    await run('annotated', 'warmup', false);
    const order = Object.keys(SCENARIOS);
    for (let round = 1; round <= ROUNDS; round++) {
      // ABCDE, EDCBA, ...: the webhook is registered for the first two and the last two in turn.
      for (const scenario of round % 2 === 1 ? order : [...order].reverse()) await run(scenario, round);
    }
  } finally {
    kwok?.kill();
    await front?.close();
    await replica?.stop();
    await cluster.stop();
  }
  const loadAfter = load1();
  const summary = {date: new Date().toISOString(), cpus: os.cpus().length, loadBefore, loadAfter, pods: PODS, rounds: ROUNDS, nodes: NODES, clientQps: CLIENT_QPS, results};
  fs.mkdirSync(path.join(ROOT, '.cache', 'bench'), {recursive: true});
  fs.writeFileSync(path.join(ROOT, '.cache', 'bench', 'cluster-scale.json'), JSON.stringify(summary, null, 2));
  report(summary);
}

function report({loadBefore, loadAfter, results, pods, nodes, rounds, clientQps}) {
  const fmt = (x, digits) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));
  const mean = xs => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
  const of = scenario => results.filter(r => r.scenario === scenario).sort((a, b) => a.round - b.round);
  console.log(`\n${pods} pods per run on ${nodes} kwok nodes, ${rounds} rounds (values per round), client QPS ${clientQps || 'defaults'}, load average ${loadBefore} before, ${loadAfter} after\n`);
  console.log('| scenario | pods/s created | s to available | injected | webhook calls | p99 bucket (ms) | calls <= 25 ms | rejections | fail-open | RSS before -> after (MiB, per replica) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const each = (rs, f) => rs.map(f).join(', ');
  for (const scenario of Object.keys(SCENARIOS)) {
    const rs = of(scenario);
    if (rs.length === 0) continue;
    const p99 = r => (r.p99Ms === null ? '-' : `(${r.p99Ms.lower}, ${r.p99Ms.upper}]`);
    console.log(`| ${scenario} | ${each(rs, r => fmt(r.podsPerS, 1))} | ${each(rs, r => fmt(r.availableS, 0))} | ${each(rs, r => r.injected)} | ` +
      `${each(rs, r => r.webhookCalls)} | ${each(rs, p99)} | ${each(rs, r => (r.shareAtMost25ms === null ? '-' : `${(r.shareAtMost25ms * 100).toFixed(2)} %`))} | ` +
      `${each(rs, r => r.rejections)} | ${each(rs, r => r.failOpen)} | ${each(rs, r => r.replicaRssMiB.map(x => `${x.before.toFixed(0)}->${x.after.toFixed(0)}`).join(' & '))} |`);
  }
  const ratios = [
    ['annotated', 'annotated-none', 'annotated pods, with / without the webhook (goal: >= 0.9)'],
    ['plain', 'plain-none', 'plain pods, with / without the webhook (goal: >= 0.9)'],
    ['annotated', 'injected-none', 'the webhook calls alone: annotated with it / the same pods injected beforehand'],
    ['injected-none', 'annotated-none', 'the sidecars alone: pods injected beforehand / uninjected, no webhook'],
  ];
  for (const [a, b, what] of ratios) {
    const [ra, rb] = [of(a), of(b)];
    if (ra.length === 0 || rb.length === 0) continue;
    const perRound = ra.map(r => rb.find(x => x.round === r.round)).map((x, i) => (x ? ra[i].podsPerS / x.podsPerS : null));
    console.log(`throughput ratio, ${what}: ${fmt(mean(ra.map(r => r.podsPerS)) / mean(rb.map(r => r.podsPerS)), 2)} (means); per round ${perRound.map(x => fmt(x, 2)).join(', ')}`);
  }
}

// `node cluster-scale.cjs --report FILE`: the tables again from a saved run.
const saved = argv.indexOf('--report');
(saved === -1 ? main() : Promise.resolve(report(JSON.parse(fs.readFileSync(argv[saved + 1], 'utf8'))))).catch(error => {
  console.error(error);
  process.exit(1);
});
