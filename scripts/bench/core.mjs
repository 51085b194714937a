/**
 * Core benchmark, in-process, against the built dist/:
 *   floor    JSON.parse + JSON.stringify of the review's text
 *   mutate   admission/mutate.ts mutateReview (the pure injection + the JSON patch) on the parsed review
 *   handler  http/handler.ts createHandler's answer for POST /mutate with the review's bytes (parse,
 *            envelope check, mutateReview, answer JSON), silent logger, no observers
 *   runtime  runtime.ts createRuntime's handler: the same plus the decision log line (written to a
 *            no-op) and the metrics: everything the function does per review except HTTP
 * Each is warmed up, then timed in batches (process.hrtime.bigint) interleaved with the others;
 * the figure is the median of the batches' time per review. Prints one JSON object.
 *   node scripts/bench/core.mjs [--quick]
 */
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {coreCases} from './lib/reviews.mjs';
import {ROOT} from './lib/proc.mjs';

const require = createRequire(join(ROOT, 'package.json'));
const dist = m => require(join(ROOT, 'dist', 'functions', m));
const {mutateReview} = dist('admission/mutate.js');
const {parseConfig} = dist('config/parse.js');
const {createHandler} = dist('http/handler.js');
const {silentLogger} = dist('ops/log.js');

const quick = process.argv.includes('--quick');
const BATCHES = quick ? 3 : 11;
const BATCH_NS = BigInt((quick ? 15 : 25) * 1e6);
const WARMUP_NS = BigInt((quick ? 50 : 250) * 1e6);

const parsedConfig = parseConfig(readFileSync(join(ROOT, 'manifests', 'base', 'config.yaml'), 'utf8'));
if (!parsedConfig.ok) throw new Error(`default config invalid: ${parsedConfig.errors.join('; ')}`);
const versioned = parsedConfig.value;

const handler = createHandler({config: () => versioned, logger: silentLogger});
let runtime;
let runtimeError;
try {
  const {createRuntime} = dist('runtime.js');
  runtime = createRuntime({env: {LOG_LEVEL: 'info'}, logWrite: () => {}, watch: false});
} catch (error) {
  runtimeError = String(error);
}

let sink = 0;

/** How many calls of `fn` fill about `ns` nanoseconds (at least 1). */
async function calibrate(fn, ns) {
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    const took = process.hrtime.bigint() - t0;
    if (took >= ns / 4n || n >= 1 << 20) return Math.max(1, Math.round((n * Number(ns)) / Math.max(1, Number(took))));
    n *= 4;
  }
}

async function timeBatch(fn, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

const median = xs => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(c) {
  const text = JSON.stringify(c.review);
  const bytes = Buffer.from(text);
  const parsed = JSON.parse(text);
  const first = mutateReview(parsed, versioned);
  if (first.decision.outcome !== 'injected') throw new Error(`${c.id}: expected an injection, got ${JSON.stringify(first.decision)}`);
  const request = {method: 'POST', path: '/mutate', body: {bytes}};
  const check = await handler(request);
  if (check.status !== 200) throw new Error(`${c.id}: handler answered ${check.status}: ${check.body.slice(0, 200)}`);
  // Syncs are wrapped in async functions too, so every measure pays the same await per call.
  const fns = {
    floor: async () => {
      sink += JSON.stringify(JSON.parse(text)).length;
    },
    mutate: async () => {
      sink += mutateReview(parsed, versioned).warnings.length;
    },
    handler: async () => {
      sink += (await handler(request)).body.length;
    },
  };
  if (runtime !== undefined) {
    fns.runtime = async () => {
      sink += (await runtime.handle(request)).body.length;
    };
  }
  const names = Object.keys(fns);
  const counts = {};
  for (const name of names) {
    const warm = process.hrtime.bigint() + WARMUP_NS;
    while (process.hrtime.bigint() < warm) await fns[name]();
    counts[name] = await calibrate(fns[name], BATCH_NS);
  }
  const samples = Object.fromEntries(names.map(n => [n, []]));
  for (let b = 0; b < BATCHES; b++) for (const name of names) samples[name].push(await timeBatch(fns[name], counts[name]));
  const ns = Object.fromEntries(names.map(n => [n, median(samples[n])]));
  return {
    id: c.id,
    label: c.label,
    bytes: bytes.length,
    answerBytes: Buffer.byteLength(check.body),
    envVars: c.envVars,
    sweep: c.sweep,
    scale: c.scale,
    ns,
    iterations: counts,
    batches: BATCHES,
  };
}

const results = [];
for (const c of coreCases()) results.push(await measure(c));
runtime?.close();
process.stdout.write(`${JSON.stringify({results, runtimeError, sink: sink > 0})}\n`);
