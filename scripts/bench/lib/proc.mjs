/**
 * Child processes for the benchmarks: free loopback ports, servers started and polled until ready,
 * RSS and CPU time read from /proc, and cleanup of everything started here, on success, on error,
 * and on SIGINT/SIGTERM of the benchmark itself.
 */
import {spawn} from 'node:child_process';
import {closeSync, createWriteStream, existsSync, openSync, readFileSync, readSync, rmSync, statSync} from 'node:fs';
import {request as httpRequest} from 'node:http';
import {request as httpsRequest} from 'node:https';
import {connect, createServer} from 'node:net';
import {createRequire} from 'node:module';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BENCH_DIR = join(ROOT, 'scripts', 'bench');
export const PRELOAD = join(BENCH_DIR, 'servers', 'preload.cjs');
export const HOST = '127.0.0.1';

const require = createRequire(join(ROOT, 'package.json'));
/** The folder of an installed package (found from its main entry: some have an `exports` map without package.json). */
export function packageDir(name) {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== name) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json for ${name}`);
    dir = up;
  }
  return dir;
}

/** functions-framework's CLI (its package.json `bin`), run with our node so we control the process. */
export function ffMain() {
  const dir = packageDir('@google-cloud/functions-framework');
  const bin = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).bin;
  return join(dir, typeof bin === 'string' ? bin : bin['functions-framework']);
}

/** USER_HZ: the unit of utime/stime in /proc/PID/stat; 100 on every Linux we run on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

export const sleep = ms => new Promise(r => setTimeout(r, ms));

const live = new Set();

/** Kills every child still running (SIGKILL, by pid); safe to call more than once. */
export function killAll() {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * spawn(), tracked for cleanup. With `logFile`, stdout goes to that file (the child writes it
 * itself); with `logPipe`, stdout is a pipe this process drains into that file, as a container
 * runtime drains a container's stdout (a server's JSON log: a pipe write costs the writer far less
 * than a file write, docs/benchmarks.md); otherwise it is piped and only its tail kept.
 * `output()` gives the last 8 KB of stderr (and of piped stdout), plus the log file's tail.
 */
export function track(command, args, {logFile: fileOption, logPipe, ...options} = {}) {
  const logFile = fileOption ?? logPipe;
  const fd = fileOption === undefined ? undefined : openSync(fileOption, 'w');
  const child = spawn(command, args, {stdio: ['ignore', fd ?? 'pipe', 'pipe'], ...options});
  if (fd !== undefined) closeSync(fd);
  if (logPipe !== undefined) child.stdout.pipe(createWriteStream(logPipe));
  live.add(child);
  let tail = '';
  const keep = d => {
    tail = (tail + d.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.output = () => {
    let log = '';
    if (logFile !== undefined) {
      try {
        log = fileTail(logFile, 4096);
      } catch {
        // no log
      }
    }
    return `${log}${tail}`;
  };
  child.exited = new Promise(r => child.once('exit', (code, signal) => r({code, signal})));
  child.exited.then(() => live.delete(child));
  return child;
}

function fileTail(file, bytes) {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export async function stop(child, timeoutMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const done = await Promise.race([child.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await child.exited;
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function tcpOpen(port) {
  return new Promise(resolve => {
    const socket = connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** One POST; resolves {status, body} or rejects (connection refused while starting). */
export function post(url, body, {timeoutMs = 5000} = {}) {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        agent: false,
        rejectUnauthorized: false,
        headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)},
        timeout: timeoutMs,
      },
      res => {
        const chunks = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () => resolve({status: res.statusCode, body: Buffer.concat(chunks).toString('utf8')}));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Starts a server: `node [nodeArgs] -r preload script [args]` with PORT set, and waits until it
 * answers (`ready`: 'tcp' = accepts connections; 'review' = answers a POSTed review with 200).
 */
export async function startServer({name, script, args = [], nodeArgs = [], env = {}, scheme = 'http', path = '/mutate', ready = 'tcp', review, logFile, logPipe, timeoutMs = 20000}) {
  const port = await freePort();
  const child = track(process.execPath, [...nodeArgs, '-r', PRELOAD, script, ...args], {
    cwd: ROOT,
    env: {...process.env, ...env, PORT: String(port)},
    logFile,
    logPipe,
  });
  const url = `${scheme}://${HOST}:${port}${path}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited while starting:\n${child.output()}`);
    if (ready === 'tcp' ? await tcpOpen(port) : await post(url, review).then(r => r.status === 200, () => false)) {
      return {name, child, port, url, pid: child.pid};
    }
    await sleep(10);
  }
  await stop(child);
  throw new Error(`${name} did not become ready in ${timeoutMs} ms:\n${child.output()}`);
}

/** Resident set size in bytes, from /proc (Linux). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : NaN;
}

/** CPU time (user + system) used so far by a process, in seconds. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3, so utime (14) and stime (15) are at indexes 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS;
}

/** Asks a server started with BENCH_HEAP_FILE and --expose-gc for a full GC and its memory usage. */
export async function heapAfterGc(child, file) {
  rmSync(file, {force: true});
  child.kill('SIGUSR2');
  for (let i = 0; i < 500 && !existsSync(file); i++) await sleep(10);
  return JSON.parse(readFileSync(file, 'utf8'));
}
