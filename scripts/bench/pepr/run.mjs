#!/usr/bin/env node
/**
 * Ours against Pepr (issue #16, goal 3): the same injection served by Pepr 1.1.4's own HTTPS
 * admission server, by our functions-framework path (`npm start`'s command) and by our HTTPS entry
 * point, loaded the same way, side by side. Figures: req/s, latency, CPU per review (/proc), cold
 * start (spawn -> first answered review).
 *
 *   npm run build && node scripts/bench/pepr/run.mjs [--quick] [--update-docs] [--keep]
 *
 * Pepr is installed from npm (`npm install pepr@1.1.4 --ignore-scripts`) into .cache/bench/pepr/ on
 * first use; none of it is part of this project. Its module (module.cjs) is a capability that
 * mutates annotated Pods with our core's injectObject and the default config, so both sides do the
 * same injection; Pepr's answer carries one more annotation of its own (checked below). Its store
 * needs an apiserver: fake-apiserver.mjs serves it from memory. Pepr runs as its controller forks
 * it in a cluster (node on the module, LOG_LEVEL unset: info), but unbundled and without the
 * controller process in front, which only adds to its start (the CRD apply, the fork).
 *
 * Pepr's server binds its /mutate endpoint only once its store is read, after a random delay of up
 * to 3 s (StoreController's jitter): its cold start includes that delay, as in a cluster.
 * Figures go to .cache/bench/pepr-latest.json and .txt; --update-docs writes the table between the
 * pepr:begin/end markers of docs/benchmarks.md. Nothing is asserted: verdicts print as PASS/MISS.
 */
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {spawnServerTimed} from '../lib/cold.mjs';
import {BENCH_DIR, ROOT, cpuSeconds, ffMain, killAll, post, rssBytes, sleep, startServer, stop, track} from '../lib/proc.mjs';
import {typicalReview} from '../lib/reviews.mjs';
import {histPercentile, median, mergeHist, ratio} from '../lib/stats.mjs';
import {makeCertificate, startCommandArgs} from '../lib/targets.mjs';
import {startFakeApiserver} from './fake-apiserver.mjs';

const PEPR_VERSION = '1.1.4';
const PEPR_DIR = join(ROOT, '.cache', 'bench', 'pepr');
const API_PATH = 'bench-api-path';
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const S = {connections: 10, rounds: QUICK ? 2 : 4, roundSec: QUICK ? 1.5 : 2.5, warmupSec: QUICK ? 1 : 2, coldRuns: QUICK ? 3 : 7, loadMaxSec: 90};

const started = Date.now();
const log = message => process.stderr.write(`[pepr bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${message}\n`);

/** Pepr from npm into .cache/bench/pepr, once; `--ignore-scripts`: nothing of it runs at install. */
function ensurePepr() {
  const installed = join(PEPR_DIR, 'node_modules', 'pepr', 'package.json');
  if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === PEPR_VERSION) return;
  log(`installing pepr@${PEPR_VERSION} into ${PEPR_DIR} (npm, --ignore-scripts)`);
  mkdirSync(PEPR_DIR, {recursive: true});
  writeFileSync(join(PEPR_DIR, 'package.json'), `${JSON.stringify({name: 'pepr-bench-scratch', private: true})}\n`);
  const npm = spawnSync('npm', ['install', `pepr@${PEPR_VERSION}`, '--ignore-scripts', '--no-audit', '--no-fund', '--no-save'], {cwd: PEPR_DIR, stdio: 'inherit'});
  if (npm.status !== 0) throw new Error(`npm install pepr@${PEPR_VERSION} failed (${npm.status ?? npm.signal})`);
}

function load(url, bodyFile, spec) {
  return new Promise((resolve, reject) => {
    const child = track(process.execPath, [join(BENCH_DIR, 'load.mjs'), JSON.stringify({url, bodyFile, connections: S.connections, maxSec: S.loadMaxSec, ...spec})], {cwd: ROOT});
    let out = '';
    child.stdout.on('data', d => (out += d));
    child.exited.then(({code}) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`load failed:\n${child.output()}`))));
  });
}

/** The patch's operations, as JSON strings. */
function operations(body) {
  const response = JSON.parse(body).response;
  if (response?.allowed !== true || typeof response.patch !== 'string') throw new Error(`not an allowed answer with a patch: ${body.slice(0, 300)}`);
  return JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')).map(op => JSON.stringify(op));
}

/** Pepr must do our injection: its patch is ours plus its own status annotation, nothing else. */
function checkSameInjection(ours, pepr) {
  const own = pepr.filter(op => JSON.parse(op).path.startsWith('/metadata/annotations/nsm-bench.pepr.dev'));
  const rest = pepr.filter(op => !own.includes(op));
  if (own.length !== 1 || rest.length !== ours.length || !rest.every(op => ours.includes(op))) {
    throw new Error(`Pepr's patch is not ours plus its annotation:\nours ${ours.join('\n')}\npepr ${pepr.join('\n')}`);
  }
}

const num = (v, d = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', {minimumFractionDigits: d, maximumFractionDigits: d}) : 'n/a');
const x = v => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a');

function table(headers, rows) {
  const cells = [headers, ...rows].map(r => r.map(String));
  const widths = headers.map((_, i) => Math.max(...cells.map(r => r[i].length)));
  const line = r => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map(w => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function render(results) {
  const m = results.machine;
  const out = [`ours vs Pepr ${PEPR_VERSION}, ${m.date}, commit ${m.commit}; ${m.cpu}, node ${m.node}; load average at start ${m.loadAverage}${QUICK ? '; QUICK RUN: figures too noisy to quote' : ''}`, ''];
  out.push(`HTTP(S) (autocannon in its own process, ${S.connections} connections, ${S.rounds} interleaved rounds x ${S.roundSec} s after ${S.warmupSec} s warm-up, POST of the ${num(results.reviewBytes)}-byte typical review)`);
  const t = results.targets;
  const pepr = t.pepr;
  out.push(
    table(
      ['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/review', 'req/s vs Pepr', 'CPU vs Pepr', 'cold start ms', 'RSS idle'],
      Object.values(t).map(r => [r.label, num(r.rps), num(r.p50, 2), num(r.p99, 2), num(r.cpuUs), x(ratio(r.rps, pepr.rps)), x(ratio(r.cpuUs, pepr.cpuUs)), num(r.coldMs), `${num(r.idleRss / 2 ** 20, 1)} MiB`]),
    ),
  );
  out.push('', 'Goal 3 (issue #16)');
  for (const v of results.verdicts) out.push(`  ${v.pass ? 'PASS' : 'MISS'}  ${v.text}: ${v.detail}`);
  out.push('', `Pepr's store requests to the fake apiserver: ${results.apiserver.requests}; unexpected: ${results.apiserver.unexpected.length === 0 ? 'none' : results.apiserver.unexpected.join(', ')}`);
  return `${out.join('\n')}\n`;
}

function verdicts(t) {
  const out = [];
  const add = (text, ok, detail) => out.push({text, pass: ok, detail});
  for (const [id, minRps, maxCpu] of [['ours-ff', 1.5, 0.6], ['ours-https', 3, 0.3]]) {
    const r = ratio(t[id].rps, t.pepr.rps);
    const c = ratio(t[id].cpuUs, t.pepr.cpuUs);
    add(`${t[id].label}: req/s >= ${minRps}x Pepr's and CPU per review <= ${maxCpu}x`, r >= minRps && c <= maxCpu,
      `${x(r)} req/s (${num(t[id].rps)} vs ${num(t.pepr.rps)}; rounds ${t[id].roundRps.map((v, i) => (v / t.pepr.roundRps[i]).toFixed(2)).join(', ')}), ${x(c)} CPU (${num(t[id].cpuUs)} vs ${num(t.pepr.cpuUs)} µs)`);
  }
  return out;
}

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'functions', 'index.js'))) throw new Error('dist/ is not built: run `npm run build` first');
  ensurePepr();
  const tmp = mkdtempSync(join(tmpdir(), 'nsm-pepr-bench-'));
  const api = await startFakeApiserver(join(tmp, 'kubeconfig'));
  const certDir = makeCertificate(tmp);
  const review = typicalReview();
  const reviewText = JSON.stringify(review);
  const bodyFile = join(tmp, 'review.json');
  writeFileSync(bodyFile, reviewText);
  const targets = [
    {id: 'ours-ff', label: 'ours: `npm start` (functions-framework, HTTP)', script: ffMain(), args: startCommandArgs()},
    {id: 'ours-https', label: 'ours: HTTPS entry (node:https)', script: join(ROOT, 'dist', 'functions', 'https', 'main.js'), env: {TLS_CERT_DIR: certDir}, scheme: 'https'},
    {
      id: 'pepr',
      label: `Pepr ${PEPR_VERSION} (express + node:https)`,
      script: join(BENCH_DIR, 'pepr', 'module.cjs'),
      env: {PEPR_DIR, PEPR_API_PATH: API_PATH, SSL_KEY_PATH: join(certDir, 'tls.key'), SSL_CERT_PATH: join(certDir, 'tls.crt'), KUBECONFIG: join(tmp, 'kubeconfig')},
      scheme: 'https',
      path: `/mutate/${API_PATH}`,
    },
  ];
  const machine = {
    cpu: /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim(),
    node: process.version,
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], {cwd: ROOT, encoding: 'utf8'}).stdout.trim(),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
  const results = {machine, settings: {...S, quick: QUICK}, reviewBytes: Buffer.byteLength(reviewText), targets: {}};
  const servers = new Map();
  try {
    for (const t of targets) {
      log(`starting ${t.id}`);
      // Pepr answers 404 until its store is read: ready means a review answered with 200.
      servers.set(t.id, await startServer({name: t.id, script: t.script, args: t.args, env: t.env, scheme: t.scheme, path: t.path, ready: 'review', review: reviewText, logPipe: join(tmp, `${t.id}.log`)}));
    }
    await sleep(1000);
    const patches = {};
    for (const t of targets) {
      const server = servers.get(t.id);
      patches[t.id] = operations((await post(server.url, reviewText)).body);
      results.targets[t.id] = {label: t.label, idleRss: rssBytes(server.pid), rounds: []};
    }
    checkSameInjection(patches['ours-ff'], patches.pepr);
    checkSameInjection(patches['ours-https'], patches.pepr);
    for (const t of targets) await load(servers.get(t.id).url, bodyFile, {durationSec: S.warmupSec, warmupSec: 0});
    for (let round = 0; round < S.rounds; round++) {
      for (let i = 0; i < targets.length; i++) {
        const t = targets[(i + round) % targets.length];
        const server = servers.get(t.id);
        const cpu0 = cpuSeconds(server.pid);
        const r = await load(server.url, bodyFile, {durationSec: S.roundSec, warmupSec: 0});
        results.targets[t.id].rounds.push({...r, cpuSec: cpuSeconds(server.pid) - cpu0});
        log(`round ${round + 1}/${S.rounds} ${t.id}: ${Math.round(r.rps)} req/s, p99 ${r.p99.toFixed(2)} ms${r.errors || r.non2xx ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : ''}`);
      }
    }
  } finally {
    await Promise.all([...servers.values()].map(s => stop(s.child)));
  }
  for (const target of Object.values(results.targets)) {
    const {rounds} = target;
    const requests = rounds.reduce((n, r) => n + r.requests, 0);
    const hist = mergeHist(rounds.map(r => r.hist));
    Object.assign(target, {
      requests,
      errors: rounds.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx, 0),
      rps: requests / rounds.reduce((n, r) => n + r.durationSec, 0),
      p50: histPercentile(hist, 50),
      p99: histPercentile(hist, 99),
      cpuUs: (1e6 * rounds.reduce((n, r) => n + r.cpuSec, 0)) / requests,
      roundRps: rounds.map(r => r.rps),
    });
    delete target.rounds;
  }
  const cold = Object.fromEntries(targets.map(t => [t.id, []]));
  for (let run = 0; run < S.coldRuns; run++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + run) % targets.length];
      cold[t.id].push((await spawnServerTimed(t, reviewText, join(tmp, `${t.id}.cold.log`), {timeoutMs: 30_000})).firstAnswerMs);
    }
  }
  for (const t of targets) results.targets[t.id].coldMs = median(cold[t.id]);
  log(`cold start: ${targets.map(t => `${t.id} ${num(results.targets[t.id].coldMs)} ms`).join(', ')}`);
  results.apiserver = {requests: api.requests.length, unexpected: api.unexpected};
  results.verdicts = verdicts(results.targets);
  await api.close();
  const text = render(results);
  const outDir = join(ROOT, '.cache', 'bench');
  mkdirSync(outDir, {recursive: true});
  writeFileSync(join(outDir, 'pepr-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'pepr-latest.txt'), text);
  process.stdout.write(text);
  if (argv.includes('--update-docs') && !QUICK) {
    const file = join(ROOT, 'docs', 'benchmarks.md');
    const doc = readFileSync(file, 'utf8');
    const begin = '<!-- pepr:begin -->';
    const end = '<!-- pepr:end -->';
    const i = doc.indexOf(begin);
    const j = doc.indexOf(end);
    if (i === -1 || j < i) throw new Error(`${file} has no ${begin} ... ${end} block`);
    writeFileSync(file, `${doc.slice(0, i + begin.length)}\n\`\`\`text\n${text}\`\`\`\n${doc.slice(j)}`);
    log('docs/benchmarks.md: wrote the Pepr table');
  }
  if (!argv.includes('--keep')) rmSync(tmp, {recursive: true, force: true});
  else log(`kept ${tmp}`);
}

main()
  .catch(error => {
    process.stderr.write(`pepr bench failed: ${error.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(killAll);
