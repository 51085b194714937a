#!/usr/bin/env node
/**
 * What the ValidatingAdmissionPolicy costs on pod creation (docs/benchmarks.md, "Admission policy"):
 * a real kube-apiserver + etcd (the e2e suite's harness) and the function as its HTTPS process,
 * `kubectl create -f` of 500 pods per scenario and policy mode, the modes in ABC/CBA order round after
 * round, the pods deleted after each run (the store stays the same size); the apiserver's own metrics
 * before and after each create give its time per pod.
 *
 *   npm run build && node scripts/bench/admission-policy.cjs [--pods 500] [--rounds 2]
 *
 * Policy modes: none; shipped (the manifests' policy and binding); floor (a policy on the same pods
 * whose one check reads a label: what any ValidatingAdmissionPolicy on pods costs before its own CEL).
 * Scenarios (each in a fresh namespace):
 *   annotated  pods asking for network services, the function up: injected (the policy allows them)
 *   plain      pods that don't ask, the function up (the policy allows them)
 *   down       pods asking, the function stopped (modes none and shipped): stored without sidecars, or
 *              refused; the only case in which apiserver_validating_admission_policy_check_duration_seconds
 *              records anything (the apiserver observes denials and evaluation errors, not plain allows:
 *              k8s.io/apiserver .../policy/validating/dispatcher.go)
 * Figures per pod: kubectl's wall time; apiserver_request_duration_seconds for POST pods (the whole
 * request in the apiserver); apiserver_admission_controller_admission_duration_seconds for the
 * ValidatingAdmissionPolicy plugin (the policy's share, on every request); the policy's check duration.
 * Also printed: the 1-minute load average before and after (run it on a quiet machine: < 1.5).
 * Every figure goes to .cache/bench/admission-policy.json. Nothing is asserted.
 */
'use strict';
const {execFileSync} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
process.chdir(ROOT);

// The harness is TypeScript (test/e2e/).
require('./lib/require-ts.cjs');
const {startCluster, eventually} = require('../../test/e2e/support/cluster.ts');
const {render, pick, collectionPath} = require('../../test/e2e/support/manifests.ts');
const {parseSamples, sumOfChanges} = require('../../test/support/prom-text.ts');
const {ensureControlPlaneBinaries} = require('../../test/e2e/harness/controlplane.ts');

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const PODS = option('pods', 500);
const ROUNDS = option('rounds', 2);
const NSM = 'networkservicemesh.io';
const POLICY = 'nsm-sidecar-injector';
const MODES = ['none', 'shipped', 'floor'];
const log = message => process.stderr.write(`[admission-policy bench] ${message}\n`);
const load1 = () => os.loadavg()[0].toFixed(2);

const METRICS = ['apiserver_request_duration_seconds', 'apiserver_admission_controller_admission_duration_seconds', 'apiserver_validating_admission_policy_check_duration_seconds'];

async function scrape(admin) {
  const text = await admin.getText('/metrics');
  const lines = text.split('\n').filter(l => METRICS.some(m => l.startsWith(`${m}_sum{`) || l.startsWith(`${m}_count{`)));
  return parseSamples(lines.join('\n'));
}

function podList(count, annotated) {
  const items = [];
  for (let i = 0; i < count; i++) {
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {name: `pod-${i}`, ...(annotated ? {annotations: {[NSM]: 'kernel://icmp-responder/nsm-1'}} : {})},
      spec: {containers: [{name: 'app', image: 'alpine:3.20'}]},
    });
  }
  return {apiVersion: 'v1', kind: 'List', items};
}

async function main() {
  const binaries = await ensureControlPlaneBinaries();
  const kubectl = path.join(binaries.dir, 'kubectl');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsm-bench-vap-'));
  const files = {annotated: path.join(tmp, 'annotated.json'), plain: path.join(tmp, 'plain.json')};
  fs.writeFileSync(files.annotated, JSON.stringify(podList(PODS, true)));
  fs.writeFileSync(files.plain, JSON.stringify(podList(PODS, false)));

  const loadBefore = load1();
  log(`load average ${loadBefore}; starting a control plane and the function`);
  const cluster = await startCluster();
  const results = [];
  try {
    const manifests = render('deployment');
    const shipped = {policy: pick(manifests, 'ValidatingAdmissionPolicy'), binding: pick(manifests, 'ValidatingAdmissionPolicyBinding')};
    // The floor: a policy matching the same pods whose check reads one label, i.e. what any
    // ValidatingAdmissionPolicy on pods costs before its own expressions (conversion, activation).
    const floor = {
      policy: {...shipped.policy, metadata: {name: 'bench-floor'}, spec: {failurePolicy: 'Ignore', matchConstraints: shipped.policy.spec.matchConstraints,
        validations: [{expression: "!has(object.metadata.labels) || !('bench-probe' in object.metadata.labels)"}]}},
      binding: {...shipped.binding, metadata: {name: 'bench-floor'}, spec: {policyName: 'bench-floor', validationActions: ['Deny']}},
    };
    await cluster.namespace('policy-probe');
    const probes = {
      shipped: podList(1, true).items[0],
      floor: {...podList(1, false).items[0], metadata: {name: 'probe', labels: {'bench-probe': 'yes'}}},
    };
    const refused = async mode => cluster.admin.create('/api/v1/namespaces/policy-probe/pods', probes[mode], {dryRun: true}).then(() => false, () => true);
    let mode = 'none';

    /** Switches policies, the function stopped meanwhile (nothing may inject the shipped policy's probe). */
    async function use(next) {
      if (next === mode) return;
      await cluster.webhook.stop();
      if (mode !== 'none') {
        const {policy, binding} = mode === 'shipped' ? shipped : floor;
        await cluster.admin.delete(`${collectionPath(binding)}/${binding.metadata.name}`);
        await cluster.admin.delete(`${collectionPath(policy)}/${policy.metadata.name}`);
        const old = mode;
        await eventually(`policy ${old} to be gone`, async () => ((await refused(old)) ? undefined : true), 30_000);
      }
      if (next !== 'none') {
        const {policy, binding} = next === 'shipped' ? shipped : floor;
        await cluster.admin.create(collectionPath(policy), policy);
        await cluster.admin.create(collectionPath(binding), binding);
        await eventually(`policy ${next} to apply`, async () => ((await refused(next)) ? true : undefined), 30_000);
      }
      mode = next;
      await cluster.startWebhook();
    }

    async function run(scenario, round, record = true) {
      const namespace = `bench-${scenario}-${mode}-${round}`;
      await cluster.namespace(namespace);
      const file = scenario === 'plain' ? files.plain : files.annotated;
      const before = await scrape(cluster.admin);
      const started = process.hrtime.bigint();
      let out = '';
      try {
        out = execFileSync(kubectl, ['--kubeconfig', cluster.cp.kubeconfigPath, '-n', namespace, 'create', '-f', file], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20});
      } catch (error) {
        // kubectl exits 1 when some objects were refused (the scenario "down" with the policy): expected.
        out = String(error.stdout ?? '');
      }
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const after = await scrape(cluster.admin);
      // Keep the store the same size for every run: delete what was created (pods without a node go at once).
      await cluster.admin.delete(`/api/v1/namespaces/${namespace}/pods`);
      const created = (out.match(/ created$/gm) ?? []).length;
      const pods = {verb: 'POST', resource: 'pods'};
      const plugin = {name: 'ValidatingAdmissionPolicy', operation: 'CREATE', type: 'validate'};
      const per = (sum, count) => (count === 0 ? null : (sum / count) * 1e6);
      const r = {
        scenario,
        policy: mode,
        round,
        pods: PODS,
        created,
        refused: PODS - created,
        kubectlMsPerPod: wallMs / PODS,
        requestUsPerPod: per(sumOfChanges(before, after, 'apiserver_request_duration_seconds_sum', pods), sumOfChanges(before, after, 'apiserver_request_duration_seconds_count', pods)),
        pluginUsPerPod: per(sumOfChanges(before, after, 'apiserver_admission_controller_admission_duration_seconds_sum', plugin), sumOfChanges(before, after, 'apiserver_admission_controller_admission_duration_seconds_count', plugin)),
        checkCount: sumOfChanges(before, after, 'apiserver_validating_admission_policy_check_duration_seconds_count', {policy: POLICY}),
        checkUsPerCheck: per(
          sumOfChanges(before, after, 'apiserver_validating_admission_policy_check_duration_seconds_sum', {policy: POLICY}),
          sumOfChanges(before, after, 'apiserver_validating_admission_policy_check_duration_seconds_count', {policy: POLICY}),
        ),
      };
      if (record) results.push(r);
      log(`${record ? '' : '(warm-up) '}${scenario.padEnd(9)} policy ${mode.padEnd(7)} round ${round}: ${created}/${PODS} created, kubectl ${r.kubectlMsPerPod.toFixed(2)} ms/pod, ` +
        `request ${r.requestUsPerPod?.toFixed(0)} µs, VAP plugin ${r.pluginUsPerPod?.toFixed(1)} µs, checks ${r.checkCount} at ${r.checkUsPerCheck?.toFixed(1) ?? '-'} µs`);
    }

    // Warm-up, not recorded: the first creates after start-up pay for caches, connections and JIT.
    await run('annotated', 'warmup', false);
    await run('plain', 'warmup', false);
    for (let round = 1; round <= ROUNDS; round++) {
      // ABC, CBA, ...: no mode always runs first or last.
      const order = round % 2 === 1 ? MODES : [...MODES].reverse();
      for (const next of order) {
        await use(next);
        await run('annotated', round);
        await run('plain', round);
        if (next === 'floor') continue;
        await cluster.webhook.stop();
        await run('down', round);
        await cluster.startWebhook();
      }
    }
  } finally {
    await cluster.stop();
    fs.rmSync(tmp, {recursive: true, force: true});
  }
  const loadAfter = load1();
  const summary = {date: new Date().toISOString(), cpus: os.cpus().length, loadBefore, loadAfter, pods: PODS, rounds: ROUNDS, results};
  fs.mkdirSync(path.join(ROOT, '.cache', 'bench'), {recursive: true});
  fs.writeFileSync(path.join(ROOT, '.cache', 'bench', 'admission-policy.json'), JSON.stringify(summary, null, 2));

  const median = xs => {
    const s = xs.filter(x => x !== null).sort((a, b) => a - b);
    return s.length === 0 ? null : s[Math.floor((s.length - 1) / 2)];
  };
  const fmt = (x, digits) => (x === null ? '-' : x.toFixed(digits));
  console.log(`\n${PODS} pods per run, ${ROUNDS} rounds (medians), load average ${loadBefore} before, ${loadAfter} after\n`);
  console.log('| scenario | policy | created | kubectl ms/pod | apiserver request µs/pod | VAP plugin µs/pod | policy checks | µs/check |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const scenario of ['annotated', 'plain', 'down']) {
    for (const m of MODES) {
      const rs = results.filter(r => r.scenario === scenario && r.policy === m);
      if (rs.length === 0) continue;
      console.log(`| ${scenario} | ${m} | ${median(rs.map(r => r.created))} | ${fmt(median(rs.map(r => r.kubectlMsPerPod)), 2)} | ${fmt(median(rs.map(r => r.requestUsPerPod)), 0)} | ` +
        `${fmt(median(rs.map(r => r.pluginUsPerPod)), 1)} | ${median(rs.map(r => r.checkCount))} | ${fmt(median(rs.map(r => r.checkUsPerCheck)), 1)} |`);
    }
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
