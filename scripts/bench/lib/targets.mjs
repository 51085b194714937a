/**
 * The servers the benchmarks start: ours (`npm start`'s command, and the HTTPS entry point), the
 * floors (a functions-framework echo function, bare node:http and node:https echoes) and, with
 * `explain`, variants that split our HTTP cost into parts (servers/ff-variants.js).
 */
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {createServer} from 'node:net';
import {join} from 'node:path';
import {BENCH_DIR, ROOT, ffMain} from './proc.mjs';

/** `npm start`'s command, from package.json, as arguments to functions-framework's CLI. */
export function startCommandArgs() {
  const start = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const words = start.trim().split(/\s+/);
  if (words[0] !== 'functions-framework') throw new Error(`package.json start is not a functions-framework command: ${start}`);
  return words.slice(1);
}

/** Our answer to `review`, computed in-process, in a file (for the `canned` variant). */
function cannedAnswer(tmp, review) {
  const require = createRequire(join(ROOT, 'package.json'));
  const {mutateReview} = require(join(ROOT, 'dist', 'functions', 'admission', 'mutate.js'));
  const {parseConfig} = require(join(ROOT, 'dist', 'functions', 'config', 'parse.js'));
  const config = parseConfig(readFileSync(join(ROOT, 'manifests', 'base', 'config.yaml'), 'utf8'));
  const file = join(tmp, 'answer.json');
  writeFileSync(file, JSON.stringify(mutateReview(review, config.value).answer));
  return file;
}

/** The default config with a comment added: the same config, but not the bundled text. */
function ownConfig(tmp) {
  const file = join(tmp, 'own-config.yaml');
  writeFileSync(file, `${readFileSync(join(ROOT, 'manifests', 'base', 'config.yaml'), 'utf8')}# the operator's copy\n`);
  return file;
}

const listening = server => new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
/** A TCP server in this process that accepts connections and never answers (kept for the whole run). */
const hangingServer = createServer(socket => socket.unref());
const HANGING_PORT = await listening(hangingServer);
hangingServer.unref();
/** A loopback port nothing listens on (bound, read, released). */
const closedServer = createServer();
const CLOSED_PORT = await listening(closedServer);
closedServer.close();
const hangingReceiverPort = () => HANGING_PORT;
const closedPort = () => CLOSED_PORT;

/** A self-signed EC certificate for 127.0.0.1, as TLS_CERT_DIR wants it: tls.crt and tls.key. */
export function makeCertificate(tmp) {
  const dir = join(tmp, 'tls');
  mkdirSync(dir, {recursive: true});
  const result = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')],
    {encoding: 'utf8'},
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  return dir;
}

/**
 * For the handshake phase: a client CA (ca.crt) and a client certificate it signed for
 * `kube-apiserver-admission` (client.crt, client.key), EC P-256 like cert-manager's.
 */
export function makeClientCertificates(tmp) {
  const dir = join(tmp, 'client');
  mkdirSync(dir, {recursive: true});
  const f = name => join(dir, name);
  const openssl = args => {
    const result = spawnSync('openssl', args, {encoding: 'utf8'});
    if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...key, '-days', '2', '-subj', '/CN=bench client CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
    '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  writeFileSync(f('client.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  openssl(['req', ...key, '-subj', '/CN=kube-apiserver-admission', '-keyout', f('client.key'), '-out', f('client.csr')]);
  openssl(['x509', '-req', '-in', f('client.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-set_serial', '1', '-days', '2', '-extfile', f('client.ext'), '-out', f('client.crt')]);
  return {caFile: f('ca.crt'), certFile: f('client.crt'), keyFile: f('client.key')};
}

/**
 * Each target: id, label, script (run as `node -r preload.cjs script args`), args, env, scheme,
 * `injects` (its answer must carry a patch), `explain` (a variant), `memory` (the heap probe's
 * node flags and env, for the memory phase), `review` (another review than the typical one:
 * `not-requested`, see reviews.mjs), `vs` (the floor its ratios are taken to, default ff-echo) and
 * `coldOnly` (measured in the cold-start phase only).
 */
export function makeTargets({tmp, explain = false, review, log = () => {}}) {
  const ff = ffMain();
  // The memory probe (preload.cjs): a full GC and memoryUsage() on SIGUSR2. Not used for cold starts.
  const memoryProbe = id => ({memory: {nodeArgs: ['--expose-gc'], env: {BENCH_HEAP_FILE: join(tmp, `${id}.heap.json`)}}});
  const targets = [
    {id: 'ours', label: 'ours: `npm start` (functions-framework)', script: ff, args: startCommandArgs(), injects: true, ...memoryProbe('ours')},
    // Issue 5: with the audit sink down or hanging, answers must come as fast as without a sink.
    {id: 'ours-sink-hang', label: 'ours, K_SINK: a receiver that never answers', script: ff, args: startCommandArgs(), env: {K_SINK: `http://127.0.0.1:${hangingReceiverPort()}/`}, injects: true},
    {id: 'ours-sink-down', label: 'ours, K_SINK: nothing listening', script: ff, args: startCommandArgs(), env: {K_SINK: `http://127.0.0.1:${closedPort()}/`}, injects: true},
    {id: 'ff-echo', label: 'functions-framework echo function', script: ff, args: ['--target=echo', '--signature-type=http', `--source=${join(BENCH_DIR, 'servers', 'echo-ff.js')}`], ...memoryProbe('ff-echo')},
    {id: 'bare-http', label: 'bare node:http echo', script: join(BENCH_DIR, 'servers', 'echo-bare.mjs')},
    // Issue #16, the common case: most pods reach the webhook (it can't select on annotations) and
    // don't ask for NSM. The same review without the annotation, to ours and to the echo.
    {id: 'ours-not-requested', label: 'ours, a pod that does not ask for NSM', script: ff, args: startCommandArgs(), review: 'not-requested', vs: 'ff-echo-not-requested'},
    // Issue #16, goal 4: the bundled default config is read without the YAML parser (pre-parsed);
    // a config of the operator's own (here the default plus a comment) loads and runs it.
    {id: 'ours-own-config', label: "ours, a config of the operator's own (INJECTOR_CONFIG)", script: ff, args: startCommandArgs(), env: {INJECTOR_CONFIG: ownConfig(tmp)}, coldOnly: true},
    {id: 'ff-echo-not-requested', label: 'functions-framework echo, the same review', script: ff, args: ['--target=echo', '--signature-type=http', `--source=${join(BENCH_DIR, 'servers', 'echo-ff.js')}`], review: 'not-requested', vs: 'ff-echo-not-requested'},
  ];
  if (explain) {
    const variants = join(BENCH_DIR, 'servers', 'ff-variants.js');
    const variant = (id, label, target, extra = {}) => ({id, label, script: ff, args: [`--target=${target}`, '--signature-type=http', `--source=${variants}`], explain: true, ...extra});
    targets.push(
      {id: 'ours-nolog', label: 'ours, LOG_LEVEL=warn (no decision log line)', script: ff, args: startCommandArgs(), env: {LOG_LEVEL: 'warn'}, injects: true, explain: true},
      variant('ff-canned', 'FF function answering our 3 KB answer, precomputed', 'canned', {env: {BENCH_CANNED_ANSWER: cannedAnswer(tmp, review)}}),
      variant('ff-handler', 'FF + createHandler (no log, no metrics), res.send', 'handler', {injects: true}),
      variant('ff-handler-raw', 'FF + createHandler, answer by res.writeHead/end', 'handlerRaw', {injects: true}),
      variant('ff-runtime-async', 'ours as an async function awaiting the handler', 'runtimeAsync', {injects: true}),
    );
  }
  const https = join(ROOT, 'dist', 'functions', 'https', 'main.js');
  if (existsSync(https)) {
    const certDir = makeCertificate(tmp);
    targets.push(
      {id: 'ours-https', label: 'ours: HTTPS entry (node:https)', script: https, env: {TLS_CERT_DIR: certDir}, scheme: 'https', injects: true},
      {id: 'bare-https', label: 'bare node:https echo', script: join(BENCH_DIR, 'servers', 'echo-bare.mjs'), env: {TLS_CERT_DIR: certDir}, scheme: 'https'},
    );
    if (explain) {
      targets.push({id: 'bare-https-runtime', label: 'bare node:https + createRuntime handler', script: join(BENCH_DIR, 'servers', 'handler-bare.mjs'),
        env: {TLS_CERT_DIR: certDir}, scheme: 'https', injects: true, explain: true});
    }
  } else {
    log('dist/functions/https/main.js not built: skipping the HTTPS comparison');
  }
  return targets;
}
