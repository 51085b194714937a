/**
 * The benchmark's table and budget verdicts, from the results run.mjs collects. Budgets are the
 * ones of the performance issue; each is a ratio measured in one run (these machines are noisy:
 * compare, don't quote absolutes). A miss is printed, never thrown.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {ratio} from './stats.mjs';

const MiB = 2 ** 20;

/** Formats a number with `digits` decimals and thousands separators. */
const num = (v, digits = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits}) : 'n/a';
const x = (v, digits = 2) => (Number.isFinite(v) ? `${v.toFixed(digits)}x` : 'n/a');
const kb = bytes => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} KB`);
const mib = bytes => (Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(1)} MiB` : 'n/a');

function table(headers, rows, align) {
  const cells = [headers, ...rows].map(r => r.map(c => String(c ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map(r => r[i].length)));
  const line = r => r.map((c, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map(w => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const coreById = results => new Map((results.core?.results ?? []).map(r => [r.id, r]));

/** The 100x / 1x cost ratio of each sweep, for mutate, handler and the floor. */
export function sweepGrowth(results) {
  const byId = coreById(results);
  const out = {};
  for (const sweep of ['containers', 'env']) {
    const one = byId.get(`sweep-${sweep[0]}1`);
    const hundred = byId.get(`sweep-${sweep[0]}100`);
    if (!one || !hundred) continue;
    out[sweep] = Object.fromEntries(['floor', 'mutate', 'handler', 'runtime'].map(k => [k, ratio(hundred.ns[k], one.ns[k])]));
  }
  return out;
}

export function evaluateBudgets(results) {
  const budgets = [];
  const add = (id, text, value, limit, pass, detail) => budgets.push({id, text, value, limit, pass, detail});
  const byId = coreById(results);

  const typical = byId.get('typical');
  if (typical) {
    const v = ratio(typical.ns.mutate, typical.ns.floor);
    add('core-typical', 'core, typical pod: injection + patch <= 3x the parse+stringify floor', v, 3, v <= 3, `${x(v)} (${num(typical.ns.mutate / 1e3, 1)} vs ${num(typical.ns.floor / 1e3, 1)} µs)`);
  }
  const growth = sweepGrowth(results);
  for (const [sweep, g] of Object.entries(growth)) {
    const worst = Math.max(g.mutate, g.handler);
    add(`core-linear-${sweep}`, `core, ${sweep} sweep: 100x input costs <= 120x (mutate and handler)`, worst, 120, worst <= 120,
      `mutate ${x(g.mutate, 1)}, handler ${x(g.handler, 1)} (floor ${x(g.floor, 1)})`);
  }
  for (const id of ['huge', 'huge45k']) {
    const r = byId.get(id);
    if (!r) continue;
    const perThousand = r.ns.mutate / 1e6 / (r.envVars / 1000);
    const handlerPerThousand = r.ns.handler / 1e6 / (r.envVars / 1000);
    const pass = perThousand <= 0.1 && handlerPerThousand < 1;
    add(`core-${id}`, `core, ${r.label}: far below 1 ms per 1,000 env vars (injection + patch <= 0.1 ms; whole handler < 1 ms)`, perThousand, 0.1, pass,
      `injection + patch ${num(perThousand, 3)} ms, handler with JSON.parse ${num(handlerPerThousand, 3)} ms per 1,000 env vars`);
  }

  const http = results.http?.targets;
  if (http?.ours && http['ff-echo']) {
    const t = ratio(http.ours.rps, http['ff-echo'].rps);
    const range = results.http.roundRatios.oursVsEcho;
    const cpu = ratio(http['ff-echo'].cpuUsPerRequest, http.ours.cpuUsPerRequest);
    add('http-throughput', 'HTTP: throughput >= 0.9x the functions-framework echo', t, 0.9, t >= 0.9,
      `${x(t)} (${num(http.ours.rps)} vs ${num(http['ff-echo'].rps)} req/s; rounds ${range.map(v => v.toFixed(2)).join(', ')}; by CPU per request ${x(cpu)})`);
    const p = ratio(http.ours.p99, http['ff-echo'].p99);
    add('http-p99', 'HTTP: p99 <= 1.2x the functions-framework echo p99', p, 1.2, p <= 1.2, `${x(p)} (${num(http.ours.p99, 2)} vs ${num(http['ff-echo'].p99, 2)} ms)`);
  }
  for (const [id, what] of [['ours-sink-hang', 'hanging'], ['ours-sink-down', 'down']]) {
    if (!http?.ours || !http[id]) continue;
    // Issue 5: delivery is off the admission path, so a bad sink must not slow the answers.
    const t = ratio(http[id].rps, http.ours.rps);
    const p = ratio(http[id].p50, http.ours.p50);
    add(`sink-${what}`, `audit sink ${what}: throughput >= 0.9x and p50 <= 1.1x ours without a sink (issue 5)`, t, 0.9, t >= 0.9 && p <= 1.1,
      `${x(t)} throughput, ${x(p)} p50 (${num(http[id].rps)} vs ${num(http.ours.rps)} req/s; ${num(http[id].p50, 2)} vs ${num(http.ours.p50, 2)} ms)`);
  }
  if (http?.['ours-https'] && http['bare-https']) {
    const t = ratio(http['ours-https'].rps, http['bare-https'].rps);
    const cpu = ratio(http['bare-https'].cpuUsPerRequest, http['ours-https'].cpuUsPerRequest);
    add('https-throughput', 'HTTPS entry point: throughput >= 0.7x a bare node:https echo', t, 0.7, t >= 0.7,
      `${x(t)} (${num(http['ours-https'].rps)} vs ${num(http['bare-https'].rps)} req/s; by CPU per request ${x(cpu)})`);
  }
  const cold = results.cold?.targets;
  if (cold?.ours && cold['ff-echo']) {
    const c = ratio(cold.ours.ms, cold['ff-echo'].ms);
    add('cold-start', 'cold start: <= 1.3x the functions-framework echo', c, 1.3, c <= 1.3, `${x(c)} (${num(cold.ours.ms)} vs ${num(cold['ff-echo'].ms)} ms)`);
  }
  budgets.push(...issue16Budgets(results));
  const memory = results.memory?.targets;
  if (memory?.ours && memory['ff-echo']) {
    const m = ratio(memory.ours.idleRss, memory['ff-echo'].idleRss);
    add('memory-idle', 'memory: idle RSS <= 1.3x the functions-framework echo', m, 1.3, m <= 1.3, `${x(m)} (${mib(memory.ours.idleRss)} vs ${mib(memory['ff-echo'].idleRss)})`);
    const cps = memory.ours.checkpoints;
    if (cps.length >= 2) {
      const first = cps[0];
      const last = cps[cps.length - 1];
      const heapGrowth = last.heapUsed - first.heapUsed;
      const echo = memory['ff-echo'].checkpoints;
      const echoGrowth = echo.length >= 2 ? echo[echo.length - 1].heapUsed - echo[0].heapUsed : NaN;
      add('memory-growth', `memory: no heap growth from ${num(first.reviews)} to ${num(last.reviews)} reviews (heap after full GC, <= 1 MiB)`, heapGrowth / MiB, 1,
        heapGrowth <= MiB, `${heapGrowth >= 0 ? '+' : ''}${num(heapGrowth / 1024)} KiB (echo: ${echoGrowth >= 0 ? '+' : ''}${num(echoGrowth / 1024)} KiB); RSS ${mib(first.rss)} -> ${mib(last.rss)}`);
    }
  }
  return budgets;
}

/** Issue #16's goals 1, 2 and 4 (goal 3, against Pepr, is scripts/bench/pepr/run.mjs). */
function issue16Budgets(results) {
  const budgets = [];
  const http = results.http?.targets;
  const cpuBudget = (id, text, target, floor, limit, rounds) => {
    if (!http?.[target] || !http[floor]) return;
    const v = ratio(http[target].cpuUsPerRequest, http[floor].cpuUsPerRequest);
    budgets.push({id, issue: 16, text, value: v, limit, pass: v <= limit,
      detail: `${x(v)} (${num(http[target].cpuUsPerRequest)} vs ${num(http[floor].cpuUsPerRequest)} µs; rounds ${(rounds ?? []).map(r => r.toFixed(2)).join(', ')})`});
  };
  cpuBudget('ff-cpu', 'goal 1, functions-framework path: CPU per review <= 1.25x the functions-framework echo', 'ours', 'ff-echo', 1.25, results.http?.roundCpuRatios?.oursVsEcho);
  cpuBudget('not-requested-cpu', 'goal 2, a pod that does not ask for NSM: CPU per review <= 1.1x the echo (same review)', 'ours-not-requested', 'ff-echo-not-requested', 1.1,
    results.http?.roundCpuRatios?.notRequestedVsEcho);
  const cold = results.cold?.targets;
  if (cold?.ours && cold['ff-echo']) {
    const c = ratio(cold.ours.ms, cold['ff-echo'].ms);
    budgets.push({id: 'cold-start-16', issue: 16, text: 'goal 4, cold start (spawn -> first answered review): <= 1.25x the functions-framework echo', value: c, limit: 1.25, pass: c <= 1.25,
      detail: `${x(c)} (${num(cold.ours.ms)} vs ${num(cold['ff-echo'].ms)} ms; listening ${num(cold.ours.listeningMs)} vs ${num(cold['ff-echo'].listeningMs)} ms)${
        cold['ours-own-config'] ? `; with a config of the operator's own ${x(ratio(cold['ours-own-config'].ms, cold['ff-echo'].ms))} (${num(cold['ours-own-config'].ms)} ms)` : ''}`});
  }
  return budgets;
}

/** The HTTP section alone (also what `--explain --update-docs` writes to its own block). */
export function renderHttp(results) {
  const out = [];
  const http = results.http?.targets;
  if (http) {
    const s = results.http.settings;
    out.push('', `HTTP (autocannon in its own process, ${s.connections} connections, ${s.rounds} interleaved rounds x ${s.roundSec} s after ${s.warmupSec} s warm-up, POST of the ${num(s.reviewBytes)}-byte typical review)`);
    const echo = http['ff-echo'];
    const bare = http['bare-http'];
    const bareHttps = http['bare-https'];
    const rows = Object.entries(http).map(([id, t]) => {
      const https = id.includes('-https');
      // A target sent another review is compared with the echo sent the same one.
      const floor = t.vs === undefined ? echo : http[t.vs];
      return [
        `${t.explain ? '  ' : ''}${t.label}`, num(t.rps), num(t.p50, 2), num(t.p99, 2), num(t.cpuUsPerRequest), https ? '' : x(ratio(t.rps, floor?.rps)),
        https ? '' : x(ratio(t.cpuUsPerRequest, floor?.cpuUsPerRequest)), https ? '' : x(ratio(t.p99, floor?.p99)),
        https ? x(ratio(t.rps, bareHttps?.rps)) : x(ratio(t.rps, bare?.rps)), t.errors ? String(t.errors) : '0',
      ];
    });
    out.push(table(['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'req/s vs FF echo', 'CPU vs FF echo', 'p99 vs FF echo', 'req/s vs bare', 'errors'], rows));
    if (http['ours-not-requested']) out.push('(the two "does not ask" rows are sent the typical review without its annotation, and compared with each other)');
    for (const [id, why] of Object.entries(results.http.skipped ?? {})) out.push(`skipped ${id}: ${why.split('\n')[0]}`);
  }

  return out;
}

/** The handshake section alone (also what `--only handshakes --update-docs` writes to its own block). */
export function renderHandshakes(results) {
  const h = results.handshakes;
  if (!h) return [];
  const s = h.settings;
  const out = ['', `TLS handshakes: the HTTPS entry point, a new connection (full handshake, no resumption) per request (${s.workers} concurrent clients in their own process, ${s.rounds} interleaved rounds x ${s.roundSec} s; ECDSA P-256 certificates; CPU = the server's, from /proc)`];
  const tls = h.targets.tls;
  const rows = Object.values(h.targets).map(t => [t.label, num(t.rps), num(t.p50, 2), num(t.p99, 2), num(t.cpuUsPerRequest), x(ratio(t.cpuUsPerRequest, tls?.cpuUsPerRequest)), String(t.failures)]);
  out.push(table(['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'CPU vs server-only TLS', 'failures'], rows));
  return out;
}

export function renderTable(results) {
  const out = [];
  const m = results.machine;
  out.push(`nsm-sidecar-injector benchmarks, ${m.date}, commit ${m.commit}`);
  out.push(`machine: ${m.nproc} x ${m.cpu}, ${m.memory}, Linux ${m.kernel}, node ${m.node}, functions-framework ${m.functionsFramework}, autocannon ${m.autocannon}; load average at start ${m.loadAverage}${results.settings.quick ? '; QUICK RUN: figures too noisy to quote' : ''}`);

  if (results.core) {
    out.push('', `Core, in-process (median of ${results.core.results[0]?.batches} batches; µs per review; "x" = ratio to the parse+stringify floor)`);
    const rows = results.core.results.map(r => [
      r.label, kb(r.bytes), num(r.ns.floor / 1e3, 1), num(r.ns.mutate / 1e3, 1), x(r.ns.mutate / r.ns.floor), num(r.ns.handler / 1e3, 1), x(r.ns.handler / r.ns.floor),
      r.ns.runtime === undefined ? 'n/a' : num(r.ns.runtime / 1e3, 1),
    ]);
    out.push(table(['review', 'size', 'floor', 'mutate', 'x', 'handler', 'x', 'runtime'], rows));
    const growth = sweepGrowth(results);
    for (const [sweep, g] of Object.entries(growth)) {
      out.push(`${sweep} sweep, 100x vs 1x: mutate ${x(g.mutate, 1)}, handler ${x(g.handler, 1)}, runtime ${x(g.runtime, 1)}, floor ${x(g.floor, 1)}${Math.max(g.mutate, g.handler) > 120 ? '  <- SUPER-LINEAR' : ''}`);
    }
    if (results.core.runtimeError) out.push(`runtime column: createRuntime failed: ${results.core.runtimeError}`);
  }

  out.push(...renderHttp(results));

  const memory = results.memory?.targets;
  if (memory && Object.keys(memory).length > 0) {
    out.push('', 'Memory (RSS from /proc; heap = heapUsed after a full GC)');
    const rows = Object.values(memory).map(t => {
      const cps = t.checkpoints;
      const first = cps[0];
      const last = cps[cps.length - 1];
      return [t.label, mib(t.idleRss), first ? `${mib(first.heapUsed)} @ ${num(first.reviews)}` : '', last ? `${mib(last.heapUsed)} @ ${num(last.reviews)}` : '',
        first && last ? `${last.heapUsed >= first.heapUsed ? '+' : ''}${num((last.heapUsed - first.heapUsed) / 1024)} KiB` : '', last ? mib(last.rss) : ''];
    });
    out.push(table(['server', 'RSS idle', 'heap (warm)', 'heap (end)', 'heap growth', 'RSS end'], rows));
  }

  const cold = results.cold?.targets;
  if (cold) {
    out.push('', `Cold start (spawn -> first answered review, median of ${results.cold.runs}; listening = first accepted connection)`);
    const echo = cold['ff-echo'];
    const rows = Object.values(cold).map(t => [t.label, num(t.ms), num(t.listeningMs), x(ratio(t.ms, echo?.ms)), mib(t.rssAfterFirstAnswer)]);
    out.push(table(['server', 'first answer ms', 'listening ms', 'vs FF echo', 'RSS then'], rows));
  }
  const imports = results.imports;
  if (imports) {
    out.push('', `Imports (fresh node each, median of ${imports.runs}; ms): alone, and after functions-framework's own modules as \`npm start\` has them`);
    out.push(table(['module', 'alone', 'after FF'], imports.modules.map(i => [i.module, num(i.aloneMs, 1), i.afterFfMs === undefined ? '' : num(i.afterFfMs, 1)])));
    const p = imports.path;
    out.push('', `Start-up path of \`npm start\`: functions-framework's modules ${num(p.frameworkMs)} ms, then dist/functions/index.js ${num(p.functionMs)} ms, of which (own code of each, nested loads excluded; index.js includes createRuntime, ${num(imports.createRuntimeMs, 1)} ms alone):`);
    const ours = Object.entries(p.function.self).filter(([, v]) => v >= 0.5);
    out.push(ours.map(([k, v]) => `  ${num(v, 1).padStart(6)} ms  ${k}${p.function.files[k] > 1 ? ` (${p.function.files[k]} files)` : ''}`).join('\n'));
  }

  out.push(...renderHandshakes(results));

  if (results.budgets?.length) {
    for (const issue of [6, 16]) {
      const of = results.budgets.filter(b => (b.issue ?? 6) === issue);
      if (of.length === 0) continue;
      out.push('', `Budgets (issue #${issue})`);
      out.push(of.map(b => `  ${b.pass ? 'PASS' : 'MISS'}  ${b.text}: ${b.detail}`).join('\n'));
    }
    if (results.budgets.some(b => !b.pass)) out.push('  (each miss: the measured reason and the recommended fix are in docs/benchmarks.md)');
  }
  out.push('', `elapsed ${num(results.elapsedSec)} s`);
  return `${out.join('\n')}\n`;
}

function replaceBlock(text, name, content, file) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i === -1 || j === -1 || j < i) throw new Error(`${file} has no ${begin} ... ${end} block`);
  return `${text.slice(0, i + begin.length)}\n\`\`\`text\n${content}\`\`\`\n${text.slice(j)}`;
}

/**
 * Writes the table between <!-- bench:begin --> and <!-- bench:end --> (only from a run of every part),
 * the handshake section between <!-- handshakes:begin --> and <!-- handshakes:end --> (from any
 * non-quick run of that part), and with --explain the HTTP section between <!-- explain:begin --> and
 * <!-- explain:end -->.
 * Returns what it wrote.
 */
export function updateDocs(file, tableText, results, {complete}) {
  let text = readFileSync(file, 'utf8');
  const written = [];
  if (complete) {
    text = replaceBlock(text, 'bench', tableText, file);
    written.push('the table');
  }
  if (results.handshakes && !results.settings.quick) {
    const m = results.machine;
    const head = `${m.date}, commit ${m.commit}; ${m.nproc} x ${m.cpu}, node ${m.node}; load average at start ${m.loadAverage}`;
    text = replaceBlock(text, 'handshakes', `${head}\n${renderHandshakes(results).join('\n')}\n`, file);
    written.push('the handshakes table');
  }
  if (results.settings.explain && results.http) {
    const m = results.machine;
    const head = `${m.date}, commit ${m.commit}; ${m.nproc} x ${m.cpu}, node ${m.node}; load average at start ${m.loadAverage}`;
    text = replaceBlock(text, 'explain', `${head}\n${renderHttp(results).join('\n')}\n`, file);
    written.push('the --explain table');
  }
  writeFileSync(file, text);
  return written;
}
