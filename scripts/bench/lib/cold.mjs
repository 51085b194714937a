/**
 * One cold start: spawn the server, POST the review (to `t.path`, default /mutate) every 2 ms until
 * one is answered with 200.
 * Times from just before spawn(): `listeningMs` to the first accepted connection, `firstAnswerMs`
 * to the first answered review. The server is stopped before returning.
 */
import {HOST, PRELOAD, ROOT, freePort, post, rssBytes, sleep, stop, track} from './proc.mjs';

export async function spawnServerTimed(t, reviewText, logFile, {timeoutMs = 20000} = {}) {
  const port = await freePort();
  const url = `${t.scheme ?? 'http'}://${HOST}:${port}${t.path ?? '/mutate'}`;
  const t0 = performance.now();
  const child = track(process.execPath, [...(t.nodeArgs ?? []), '-r', PRELOAD, t.script, ...(t.args ?? [])], {
    cwd: ROOT,
    env: {...process.env, ...t.env, PORT: String(port)},
    logFile,
  });
  let listeningMs;
  try {
    while (performance.now() - t0 < timeoutMs) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${t.id} exited while starting:\n${child.output()}`);
      const answer = await post(url, reviewText, {timeoutMs: 5000}).catch(error => ({error}));
      const at = performance.now() - t0;
      if (answer.error === undefined || answer.error.code !== 'ECONNREFUSED') listeningMs ??= at;
      if (answer.status === 200) return {firstAnswerMs: at, listeningMs, rss: rssBytes(child.pid)};
      await sleep(2);
    }
    throw new Error(`${t.id} answered no review within ${timeoutMs} ms:\n${child.output()}`);
  } finally {
    await stop(child);
  }
}
