#!/usr/bin/env node
/**
 * Where a server's time goes under load: starts each target with `node --cpu-prof`, loads it like
 * the HTTP benchmark does (autocannon in its own process, 10 connections, the typical review),
 * stops it, and prints its CPU profile as microseconds per request, by package (or dist/ file) and
 * by function. The .cpuprofile files are kept in .cache/bench/profiles/ (open them in Chrome
 * DevTools or speedscope for a flame graph).
 *   npm run build && node scripts/bench/profile.mjs [ours ff-echo ours-https ...] [--seconds 10] [--explain]
 * Targets: the ids of run.mjs (default: ours ff-echo ours-https bare-https).
 */
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {BENCH_DIR, ROOT, post, startServer, stop, track} from './lib/proc.mjs';
import {typicalReview} from './lib/reviews.mjs';
import {makeTargets} from './lib/targets.mjs';
import {summarize} from './profile-summary.mjs';

const argv = process.argv.slice(2);
const seconds = Number(argv.includes('--seconds') ? argv[argv.indexOf('--seconds') + 1] : 10);
const wanted = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--seconds');
const tmp = mkdtempSync(join(tmpdir(), 'nsm-profile-'));
const outDir = join(ROOT, '.cache', 'bench', 'profiles');
mkdirSync(outDir, {recursive: true});
const review = typicalReview();
const reviewFile = join(tmp, 'review.json');
writeFileSync(reviewFile, JSON.stringify(review));

function runLoad(url, spec) {
  return new Promise((resolve, reject) => {
    const child = track(process.execPath, [join(BENCH_DIR, 'load.mjs'), JSON.stringify({url, bodyFile: reviewFile, connections: 10, maxSec: 120, ...spec})], {cwd: ROOT});
    let out = '';
    child.stdout.on('data', d => (out += d));
    child.exited.then(({code}) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(child.output()))));
  });
}

try {
  const all = makeTargets({tmp, explain: argv.includes('--explain'), review});
  const ids = wanted.length > 0 ? wanted : ['ours', 'ff-echo', 'ours-https', 'bare-https'];
  for (const id of ids) {
    const t = all.find(x => x.id === id);
    if (t === undefined) throw new Error(`no target ${id}; known: ${all.map(x => x.id).join(', ')}`);
    const dir = join(tmp, id);
    mkdirSync(dir);
    const server = await startServer({name: id, script: t.script, args: t.args, env: t.env, scheme: t.scheme, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`], logPipe: join(tmp, `${id}.log`)});
    await post(server.url, JSON.stringify(review));
    const result = await runLoad(server.url, {durationSec: seconds, warmupSec: 1});
    await stop(server.child, 10_000);
    const files = existsSync(dir) ? readdirSync(dir).filter(f => f.endsWith('.cpuprofile')) : [];
    if (files.length === 0) throw new Error(`${id}: no profile written (did it exit cleanly on SIGTERM?)`);
    const kept = join(outDir, `${id}.cpuprofile`);
    copyFileSync(join(dir, files[0]), kept);
    // Warm-up requests are in the profile too: count them (1 s at about the measured rate).
    const requests = result.requests + Math.round(result.rps * 1) + 1;
    const s = summarize(kept, {top: 20});
    const us = v => (v / requests).toFixed(1).padStart(7);
    const busy = s.totalUs - (s.byFunction.find(([k]) => k.startsWith('(idle)'))?.[1] ?? 0);
    console.log(`\n== ${id}: ${t.label} — ${Math.round(result.rps)} req/s; busy (not idle) in the profile ${us(busy).trim()} µs per request (${requests} requests); ${kept}`);
    console.log('µs/request by place (self time):');
    for (const [k, v] of s.byPlace.filter(([k]) => k !== '(native/V8)').slice(0, 14)) console.log(`${us(v)}  ${k}`);
    console.log('µs/request by function (self time, V8 natives included):');
    for (const [k, v] of s.byFunction.filter(([k]) => !k.startsWith('(idle)')).slice(0, 16)) console.log(`${us(v)}  ${k}`);
  }
} finally {
  rmSync(tmp, {recursive: true, force: true});
}
