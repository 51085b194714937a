/**
 * functions-framework functions that split our HTTP cost into parts (`npm run bench -- --explain`).
 * Each is served like ours: functions-framework --signature-type=http --source=<this file> --target=NAME
 *
 *   canned      answers every review with the answer ours gives the typical review, precomputed
 *               (read from BENCH_CANNED_ANSWER): what answering 3 KB instead of 130 bytes costs
 *   handler       our framework-free handler (createHandler: parse check, mutateReview, answer),
 *                 silent logger, no metrics, sent with express's res.status().set().send()
 *   handlerRaw    the same, sent with res.writeHead() + res.end() as index.ts does
 *   runtimeAsync  index.ts (createRuntime: decision log line, metrics) as an async function that
 *                 awaits the handler: what the promises cost under the framework's domain
 */
'use strict';
const {readFileSync} = require('node:fs');
const {join} = require('node:path');
const {http} = require('@google-cloud/functions-framework');

const root = join(__dirname, '..', '..', '..');
const dist = m => require(join(root, 'dist', 'functions', m));

function bodyOf(req) {
  const raw = req.rawBody;
  if (raw === undefined) return undefined;
  if (req.is('application/json') && req.body !== undefined && typeof req.body === 'object') return {parsed: req.body, size: raw.length};
  return {bytes: raw};
}

let canned;
http('canned', (req, res) => {
  canned ??= readFileSync(process.env.BENCH_CANNED_ANSWER, 'utf8');
  res.status(200).set({'content-type': 'application/json'}).send(canned);
});

/** Sends an answer with res.writeHead/res.end, as index.ts does. */
function send(res, answer) {
  res.writeHead(answer.status, {...answer.headers, 'content-length': Buffer.byteLength(answer.body)});
  res.end(answer.body);
}

const target = process.argv.find(a => a.startsWith('--target='))?.slice('--target='.length);
if (target === 'handler' || target === 'handlerRaw') {
  const {parseConfig} = dist('config/parse.js');
  const {createHandler} = dist('http/handler.js');
  const {silentLogger} = dist('ops/log.js');
  const parsed = parseConfig(readFileSync(join(root, 'manifests', 'base', 'config.yaml'), 'utf8'));
  const handle = createHandler({config: () => parsed.value, logger: silentLogger});
  // Synchronous, as index.ts: no namespace source, so the handler never returns a promise here.
  http('handler', (req, res) => {
    const answer = handle({method: req.method, path: req.path, body: bodyOf(req)});
    res.status(answer.status).set(answer.headers).send(answer.body);
  });
  http('handlerRaw', (req, res) => send(res, handle({method: req.method, path: req.path, body: bodyOf(req)})));
}
if (target === 'runtimeAsync') {
  const runtime = dist('runtime.js').createRuntime();
  http('runtimeAsync', async (req, res) => send(res, await runtime.handle({method: req.method, path: req.path, body: bodyOf(req)})));
}
