#!/usr/bin/env node
/**
 * `npm run bench`: builds, then measures the webhook against its floors on this machine and prints
 * a table of figures, ratios and budget verdicts (see docs/benchmarks.md for what each one means).
 *
 *   node scripts/bench/run.mjs [--quick] [--only core,http,memory,cold,imports,handshakes] [--explain] [--update-docs] [--keep]
 *
 *   core     in-process: mutateReview and the handler vs JSON.parse+stringify (scripts/bench/core.mjs)
 *   http     autocannon in a child process against ours (`npm start`'s command), a functions-framework
 *            echo function and a bare node:http echo; our HTTPS entry point vs a bare node:https echo
 *   memory   (with http) idle RSS, then heap and RSS up to 100k reviews, ours vs the echo function
 *   cold     spawn -> first answered review, ours vs the echo function and the bare servers
 *   imports  what each import on the start-up path costs
 *   handshakes  the HTTPS entry point with a new TLS connection per request: server-only TLS vs
 *            client certificates required (CLIENT_CA_FILE), and refusing callers without one
 *   --explain      adds HTTP variants that split our cost (logging, response, handler, framework)
 *   --quick        short runs, for trying the script out (figures too noisy to quote)
 *   --update-docs  writes the table into docs/benchmarks.md (between the bench:begin/end markers)
 *   --keep         keeps the temporary folder (server logs, TLS files)
 * Every figure is also written to .cache/bench/latest.json and the table to .cache/bench/latest.txt.
 * Timings are never asserted anywhere: budgets are printed as PASS/MISS, the exit code is 0 unless
 * a measurement itself failed.
 */
import {spawnSync} from 'node:child_process';
import {cpus} from 'node:os';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {spawnServerTimed} from './lib/cold.mjs';
import {notRequestedReview, typicalReview} from './lib/reviews.mjs';
import {makeCertificate, makeClientCertificates, makeTargets} from './lib/targets.mjs';
import {BENCH_DIR, ROOT, cpuSeconds, ffMain, heapAfterGc, killAll, post, rssBytes, sleep, startServer, stop, track} from './lib/proc.mjs';
import {histPercentile, median, mergeHist} from './lib/stats.mjs';
import {evaluateBudgets, renderTable, updateDocs} from './lib/report.mjs';

const argv = process.argv.slice(2);
const flag = name => argv.includes(`--${name}`);
const option = name => {
  const i = argv.findIndex(a => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i === -1) return undefined;
  return argv[i].includes('=') ? argv[i].split('=').slice(1).join('=') : argv[i + 1];
};
const QUICK = flag('quick');
const ALL_PHASES = ['core', 'http', 'memory', 'cold', 'imports', 'handshakes'];
const PHASES = new Set((option('only') ?? ALL_PHASES.join(',')).split(',').map(s => s.trim()));
const EXPLAIN = flag('explain');

const S = {
  connections: 10,
  rounds: QUICK ? 2 : 4,
  roundSec: QUICK ? 1.5 : 2.5,
  warmupSec: QUICK ? 0.5 : 1.5,
  coldRuns: QUICK ? 3 : 7,
  importRuns: QUICK ? 3 : 5,
  handshakeWorkers: 8,
  handshakeRounds: QUICK ? 2 : 4,
  handshakeRoundSec: QUICK ? 1.5 : 3,
  memoryReviews: QUICK ? 20_000 : 100_000,
  memoryBaselineAt: QUICK ? 5_000 : 20_000,
  loadMaxSec: 90,
};

const started = Date.now();
const tmp = mkdtempSync(join(tmpdir(), 'nsm-bench-'));
const outDir = join(ROOT, '.cache', 'bench');
const REVIEW = typicalReview();
const REVIEW_TEXT = JSON.stringify(REVIEW);
const REVIEW_FILE = join(tmp, 'review.json');
writeFileSync(REVIEW_FILE, REVIEW_TEXT);
const UID = REVIEW.request.uid;
/** The reviews a target may ask for (`review`), as text and as the file the load generator sends. */
const REVIEWS = {typical: {text: REVIEW_TEXT, file: REVIEW_FILE}, 'not-requested': {text: JSON.stringify(notRequestedReview()), file: join(tmp, 'review-not-requested.json')}};
writeFileSync(REVIEWS['not-requested'].file, REVIEWS['not-requested'].text);
const reviewOf = t => REVIEWS[t.review ?? 'typical'];

const log = message => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${message}\n`);

function cleanup() {
  killAll();
  if (!flag('keep')) rmSync(tmp, {recursive: true, force: true});
}

/** Runs a node script in a child process and parses the JSON line it prints. */
function runJson(args, {timeoutMs = 600_000, env} = {}) {
  return new Promise((resolve, reject) => {
    const child = track(process.execPath, args, {cwd: ROOT, env: {...process.env, ...env}});
    let out = '';
    child.stdout.on('data', d => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.exited.then(({code, signal}) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} failed (${code ?? signal}):\n${child.output()}`));
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`node ${args.join(' ')} printed no JSON:\n${out.slice(-2000)}\n${child.output()}`));
      }
    });
  });
}

function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const git = args => spawnSync('git', args, {cwd: ROOT, encoding: 'utf8'}).stdout?.trim() ?? '';
  const ff = JSON.parse(readFileSync(join(ffMain(), '..', '..', '..', 'package.json'), 'utf8')).version;
  const autocannonVersion = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version;
  return {
    nproc: cpus().length,
    cpu: model,
    memory: `${Math.round(Number(/MemTotal:\s+(\d+)/.exec(existsSync('/proc/meminfo') ? readFileSync('/proc/meminfo', 'utf8') : '')?.[1] ?? 0) / 1024 / 1024)} GiB`,
    node: process.version,
    kernel: spawnSync('uname', ['-r'], {encoding: 'utf8'}).stdout.trim(),
    functionsFramework: ff,
    autocannon: autocannonVersion,
    commit: `${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : ''}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

// ---------------------------------------------------------------------------------------------
// Servers

let targetList;
/** The servers, built once per run (the HTTPS ones need a certificate, made on first use). */
function httpTargets() {
  targetList ??= makeTargets({tmp, explain: EXPLAIN, review: REVIEW, log});
  return targetList;
}

/** A server for the HTTP and memory phases (with the memory probe where the target has one). */
async function startTarget(t) {
  return startServer({
    name: t.id,
    script: t.script,
    args: t.args,
    nodeArgs: [...(t.nodeArgs ?? []), ...(t.memory?.nodeArgs ?? [])],
    env: {...t.env, ...t.memory?.env},
    scheme: t.scheme ?? 'http',
    // Stdout is a pipe this process drains, as the container runtime drains a container's.
    logPipe: join(tmp, `${t.id}.log`),
  });
}

/** One POST of the review; checks the answer is an allowed AdmissionReview (with a patch, for ours; none for a pod that does not ask). */
async function verify(t, url) {
  const answer = await post(url, reviewOf(t).text);
  let body;
  try {
    body = JSON.parse(answer.body);
  } catch {
    body = undefined;
  }
  const ok = answer.status === 200 && body?.response?.uid === UID && body.response.allowed === true && (!t.injects || typeof body.response.patch === 'string') &&
    (t.review !== 'not-requested' || body.response.patch === undefined);
  if (!ok) throw new Error(`${t.id} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return Buffer.byteLength(answer.body);
}

function load(url, spec, bodyFile = REVIEW_FILE) {
  return runJson([join(BENCH_DIR, 'load.mjs'), JSON.stringify({url, bodyFile, connections: S.connections, maxSec: S.loadMaxSec, ...spec})]);
}

async function loadMeasured(server, spec, bodyFile) {
  const cpu0 = cpuSeconds(server.pid);
  const result = await load(server.url, spec, bodyFile);
  const cpu = cpuSeconds(server.pid) - cpu0;
  return {...result, cpuSec: cpu};
}

async function memorySnapshot(server, t) {
  const rss = rssBytes(server.pid);
  const heap = await heapAfterGc(server.child, t.memory.env.BENCH_HEAP_FILE);
  return {rss, heapUsed: heap.heapUsed, rssAfterGc: heap.rss};
}

/** Ours and the two HTTP floors must work; the HTTPS pair and the --explain variants are skipped (and said so) if not. */
const essential = t => ['ours', 'ff-echo', 'bare-http'].includes(t.id);

async function httpPhase(results) {
  const servers = new Map();
  results.http = {settings: {connections: S.connections, rounds: S.rounds, roundSec: S.roundSec, warmupSec: S.warmupSec, reviewBytes: Buffer.byteLength(REVIEW_TEXT)}, targets: {}, skipped: {}};
  results.memory = {targets: {}};
  try {
    let targets = [];
    for (const t of httpTargets().filter(t => !t.coldOnly)) {
      log(`starting ${t.id}`);
      try {
        servers.set(t.id, await startTarget(t));
        targets.push(t);
      } catch (error) {
        if (essential(t)) throw error;
        results.http.skipped[t.id] = String(error.message ?? error).slice(0, 2000);
        log(`${t.id} skipped: it did not start (${String(error.message).split('\n')[0]})`);
      }
    }
    // Idle memory: the process as started, before any request.
    await sleep(1000);
    for (const t of targets.filter(t => t.memory !== undefined && PHASES.has('memory'))) {
      const server = servers.get(t.id);
      const idleRss = rssBytes(server.pid);
      const idle = await memorySnapshot(server, t);
      results.memory.targets[t.id] = {label: t.label, idleRss, idleHeapUsed: idle.heapUsed, checkpoints: []};
    }
    const served = new Map(targets.map(t => [t.id, 0]));
    for (const t of [...targets]) {
      try {
        const bytes = await verify(t, servers.get(t.id).url);
        served.set(t.id, 1);
        results.http.targets[t.id] = {label: t.label, answerBytes: bytes, explain: t.explain === true, review: t.review, vs: t.vs, rounds: []};
      } catch (error) {
        if (essential(t)) throw error;
        results.http.skipped[t.id] = String(error.message ?? error).slice(0, 2000);
        log(`${t.id} skipped: ${String(error.message).split('\n')[0]}`);
        targets = targets.filter(x => x !== t);
        await stop(servers.get(t.id).child);
        servers.delete(t.id);
      }
    }
    // Warm-up (JIT, connection setup), not measured.
    for (const t of targets) {
      const r = await load(servers.get(t.id).url, {durationSec: S.warmupSec, warmupSec: 0}, reviewOf(t).file);
      served.set(t.id, served.get(t.id) + r.requests);
    }
    // Interleaved rounds: every target sees the same machine noise, in turn.
    for (let round = 0; round < S.rounds; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]);
      for (const t of order) {
        const r = await loadMeasured(servers.get(t.id), {durationSec: S.roundSec, warmupSec: 0}, reviewOf(t).file);
        served.set(t.id, served.get(t.id) + r.requests);
        results.http.targets[t.id].rounds.push(r);
        log(`http round ${round + 1}/${S.rounds} ${t.id}: ${Math.round(r.rps)} req/s, p99 ${r.p99.toFixed(2)} ms${r.errors || r.non2xx ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : ''}`);
      }
    }
    for (const target of Object.values(results.http.targets)) {
      const rounds = target.rounds;
      const requests = rounds.reduce((n, r) => n + r.requests, 0);
      const seconds = rounds.reduce((n, r) => n + r.durationSec, 0);
      const hist = mergeHist(rounds.map(r => r.hist));
      Object.assign(target, {
        requests,
        errors: rounds.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx, 0),
        rps: requests / seconds,
        p50: histPercentile(hist, 50),
        p99: histPercentile(hist, 99),
        cpuUsPerRequest: (1e6 * rounds.reduce((n, r) => n + r.cpuSec, 0)) / requests,
      });
      target.roundRps = rounds.map(r => Math.round(r.rps));
      target.roundCpuUs = rounds.map(r => (1e6 * r.cpuSec) / r.requests);
      delete target.rounds;
    }
    const pairs = (a, b) => {
      const ra = results.http.targets[a]?.roundRps;
      const rb = results.http.targets[b]?.roundRps;
      return ra && rb ? ra.map((x, i) => x / rb[i]) : [];
    };
    results.http.roundRatios = {oursVsEcho: pairs('ours', 'ff-echo'), httpsVsBare: pairs('ours-https', 'bare-https')};
    const cpuPairs = (a, b) => {
      const ra = results.http.targets[a]?.roundCpuUs;
      const rb = results.http.targets[b]?.roundCpuUs;
      return ra && rb ? ra.map((v, i) => v / rb[i]) : [];
    };
    results.http.roundCpuRatios = {oursVsEcho: cpuPairs('ours', 'ff-echo'), notRequestedVsEcho: cpuPairs('ours-not-requested', 'ff-echo-not-requested')};

    // Memory: ours and the echo function, on to 100k reviews each; heap after a full GC at checkpoints.
    // Both at once: each server is single-threaded and the clients are light, so on 2 cores they
    // barely compete (the throughput figures above are done by now).
    if (PHASES.has('memory')) {
      await Promise.all(
        targets.filter(t => t.memory !== undefined).map(async t => {
          const server = servers.get(t.id);
          const memory = results.memory.targets[t.id];
          const checkpoints = [S.memoryBaselineAt, Math.round((S.memoryBaselineAt + S.memoryReviews) / 2), S.memoryReviews];
          for (const at of checkpoints) {
            const missing = at - served.get(t.id);
            if (missing > S.connections) {
              const r = await load(server.url, {amount: missing, warmupSec: 0});
              served.set(t.id, served.get(t.id) + r.requests);
              if (r.errors + r.non2xx + r.timeouts > 0) memory.errors = (memory.errors ?? 0) + r.errors + r.non2xx + r.timeouts;
            }
            const snapshot = await memorySnapshot(server, t);
            memory.checkpoints.push({reviews: served.get(t.id), ...snapshot});
            log(`memory ${t.id} after ${served.get(t.id)} reviews: RSS ${(snapshot.rss / 2 ** 20).toFixed(1)} MiB, heap after GC ${(snapshot.heapUsed / 2 ** 20).toFixed(2)} MiB`);
          }
        }),
      );
    }
  } finally {
    await Promise.all([...servers.values()].map(s => stop(s.child)));
  }
}

// ---------------------------------------------------------------------------------------------
// Cold start and imports

const coldOnce = t => spawnServerTimed(t, REVIEW_TEXT, join(tmp, `${t.id}.cold.log`));

async function coldPhase(results) {
  // The cold start does not depend on the review: the targets that differ only by it are left out.
  let all = httpTargets().filter(t => !t.explain && t.review === undefined);
  // (and `coldOnly` targets: what only the start-up depends on, e.g. a config of the operator's own)
  results.cold = {runs: S.coldRuns, targets: {}, skipped: {}};
  for (const t of all) results.cold.targets[t.id] = {label: t.label, runs: []};
  for (let run = 0; run < S.coldRuns; run++) {
    const order = all.map((_, i) => all[(i + run) % all.length]);
    for (const t of order) {
      try {
        results.cold.targets[t.id].runs.push(await coldOnce(t));
      } catch (error) {
        if (essential(t)) throw error;
        results.cold.skipped[t.id] = String(error.message ?? error).slice(0, 2000);
        delete results.cold.targets[t.id];
        all = all.filter(x => x !== t);
        log(`cold start of ${t.id} skipped: ${String(error.message).split('\n')[0]}`);
      }
    }
  }
  for (const target of Object.values(results.cold.targets)) {
    target.ms = median(target.runs.map(r => r.firstAnswerMs));
    target.listeningMs = median(target.runs.map(r => r.listeningMs));
    target.rssAfterFirstAnswer = median(target.runs.map(r => r.rss));
  }
  log(`cold start: ${Object.entries(results.cold.targets).map(([id, t]) => `${id} ${t.ms.toFixed(0)} ms`).join(', ')}`);
}

async function importsPhase(results) {
  // Imports: alone in a fresh node, and after functions-framework's own modules (what `npm start` has loaded).
  const modules = ['@google-cloud/functions-framework', 'express', 'ajv', 'yaml', 'fast-json-patch', 'prom-client', 'dist/functions/ops/prom.js', 'cloudevents',
    'dist/functions/config/parse.js', 'dist/functions/admission/review.js', 'dist/functions/runtime.js', 'dist/functions/index.js'];
  const script = join(BENCH_DIR, 'import-cost.cjs');
  results.imports = {runs: S.importRuns, modules: [], path: undefined};
  for (const m of modules) {
    const alone = [];
    const afterFf = [];
    for (let i = 0; i < S.importRuns; i++) {
      alone.push((await runJson([script, 'time', m])).ms);
      if (m !== '@google-cloud/functions-framework' && m !== 'express') afterFf.push((await runJson([script, 'time', m, '--after-ff'])).ms);
    }
    results.imports.modules.push({module: m, aloneMs: median(alone), afterFfMs: afterFf.length ? median(afterFf) : undefined});
  }
  const runtime = [];
  const paths = [];
  for (let i = 0; i < S.importRuns; i++) {
    runtime.push((await runJson([script, 'runtime'])).ms);
    paths.push(await runJson([script, 'path']));
  }
  const selfOf = step => {
    const keys = new Set(paths.flatMap(p => Object.keys(p[step].self)));
    const self = [...keys].map(k => [k, median(paths.map(p => p[step].self[k] ?? 0))]).sort((a, b) => b[1] - a[1]);
    return {self: Object.fromEntries(self), files: paths[0][step].files};
  };
  results.imports.createRuntimeMs = median(runtime);
  results.imports.path = {
    frameworkMs: median(paths.map(p => p.frameworkMs)),
    functionMs: median(paths.map(p => p.functionMs)),
    framework: selfOf('framework'),
    function: selfOf('function'),
  };
  log(`imports: functions-framework ${results.imports.path.frameworkMs.toFixed(0)} ms, then our function ${results.imports.path.functionMs.toFixed(0)} ms`);
}

// ---------------------------------------------------------------------------------------------
// TLS handshakes: what requiring client certificates costs

/**
 * The HTTPS entry point under a load of new connections (a full TLS handshake per request): without
 * client certificates, with CLIENT_CA_FILE and the caller presenting its certificate, and with
 * CLIENT_CA_FILE and callers presenting none (each refused with a 401). Interleaved rounds; server
 * CPU from /proc. The load generator (handshakes.mjs) runs in its own process.
 */
async function handshakesPhase(results) {
  const https = join(ROOT, 'dist', 'functions', 'https', 'main.js');
  const certDir = makeCertificate(join(tmp, 'handshakes'));
  const client = makeClientCertificates(tmp);
  const mtlsEnv = {TLS_CERT_DIR: certDir, CLIENT_CA_FILE: client.caFile, CLIENT_ALLOWED_NAMES: 'kube-apiserver-admission', LOG_LEVEL: 'warn'};
  const cases = [
    {id: 'tls', label: 'server-only TLS', env: {TLS_CERT_DIR: certDir, LOG_LEVEL: 'warn'}, load: {}, expectStatus: 200},
    {id: 'mtls', label: 'client certificate required and presented', env: mtlsEnv, load: {certFile: client.certFile, keyFile: client.keyFile}, expectStatus: 200},
    {id: 'mtls-refused', label: 'client certificate required, none presented (401)', env: mtlsEnv, load: {}, expectStatus: 401},
  ];
  results.handshakes = {settings: {workers: S.handshakeWorkers, rounds: S.handshakeRounds, roundSec: S.handshakeRoundSec}, targets: {}};
  const servers = new Map();
  try {
    for (const c of cases) {
      // LOG_LEVEL warn for all three: the decision log line per review is not what is compared here.
      servers.set(c.id, await startServer({name: c.id, script: https, env: c.env, scheme: 'https', logFile: join(tmp, `handshakes-${c.id}.log`)}));
      results.handshakes.targets[c.id] = {label: c.label, rounds: []};
    }
    const run = (c, durationSec) =>
      runJson([join(BENCH_DIR, 'handshakes.mjs'), JSON.stringify({url: servers.get(c.id).url, bodyFile: REVIEW_FILE, caFile: join(certDir, 'tls.crt'), workers: S.handshakeWorkers, durationSec, expectStatus: c.expectStatus, ...c.load})]);
    for (const c of cases) await run(c, S.warmupSec);
    for (let round = 0; round < S.handshakeRounds; round++) {
      for (const c of cases.map((_, i) => cases[(i + round) % cases.length])) {
        const pid = servers.get(c.id).pid;
        const cpu0 = cpuSeconds(pid);
        const r = await run(c, S.handshakeRoundSec);
        results.handshakes.targets[c.id].rounds.push({...r, cpuSec: cpuSeconds(pid) - cpu0});
        log(`handshakes round ${round + 1}/${S.handshakeRounds} ${c.id}: ${Math.round(r.rps)} req/s, p99 ${r.p99.toFixed(2)} ms${r.errors || r.other ? `, ${r.errors} errors, ${r.other} unexpected statuses` : ''}`);
      }
    }
    for (const target of Object.values(results.handshakes.targets)) {
      const rounds = target.rounds;
      const requests = rounds.reduce((n, r) => n + r.requests, 0);
      const hist = mergeHist(rounds.map(r => r.hist));
      Object.assign(target, {
        requests,
        failures: rounds.reduce((n, r) => n + r.errors + r.other, 0),
        rps: requests / rounds.reduce((n, r) => n + r.durationSec, 0),
        p50: histPercentile(hist, 50),
        p99: histPercentile(hist, 99),
        cpuUsPerRequest: (1e6 * rounds.reduce((n, r) => n + r.cpuSec, 0)) / requests,
      });
      target.roundRps = rounds.map(r => Math.round(r.rps));
      delete target.rounds;
    }
  } finally {
    await Promise.all([...servers.values()].map(s => stop(s.child)));
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const results = {machine: machine(), settings: {...S, quick: QUICK, explain: EXPLAIN}};
  log(`${results.machine.nproc} x ${results.machine.cpu}, node ${results.machine.node}, load average ${results.machine.loadAverage}`);
  if (!existsSync(join(ROOT, 'dist', 'functions', 'index.js'))) throw new Error('dist/ is not built: run `npm run build` (npm run bench does)');
  if (PHASES.has('core')) {
    log('core: in-process mutateReview and handler vs JSON.parse+stringify');
    results.core = await runJson([join(BENCH_DIR, 'core.mjs'), ...(QUICK ? ['--quick'] : [])]);
  }
  if (PHASES.has('http')) await httpPhase(results);
  if (PHASES.has('cold')) await coldPhase(results);
  if (PHASES.has('imports')) await importsPhase(results);
  if (PHASES.has('handshakes')) await handshakesPhase(results);
  results.budgets = evaluateBudgets(results);
  results.elapsedSec = (Date.now() - started) / 1000;
  const table = renderTable(results);
  mkdirSync(outDir, {recursive: true});
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.txt'), table);
  process.stdout.write(table);
  if (flag('update-docs')) {
    const complete = ALL_PHASES.every(p => PHASES.has(p)) && !QUICK;
    const written = updateDocs(join(ROOT, 'docs', 'benchmarks.md'), table, results, {complete});
    log(written.length > 0 ? `docs/benchmarks.md: wrote ${written.join(' and ')}` : 'docs/benchmarks.md left as is: only a full, non-quick run (or --explain) writes it');
  }
  log(`done in ${results.elapsedSec.toFixed(0)} s; figures in .cache/bench/latest.json`);
}

main()
  .catch(error => {
    process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);

