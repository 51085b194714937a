/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and prints where the time went: self time by package
 * (or our dist/ file), the top functions by self time, and the inclusive time of the frames whose
 * function or file matches a filter.
 *   node scripts/bench/profile-summary.mjs PROFILE.cpuprofile [--top 25] [--match handler,mutate]
 */
import {readFileSync} from 'node:fs';

export function loadProfile(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample i lasted timeDeltas[i+1]; the last one is dropped (no duration known).
  const self = new Map();
  for (let i = 0; i < profile.samples.length - 1; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + profile.timeDeltas[i + 1]);
  }
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  return {profile, byId, parent, self, totalUs};
}

/** A short name for where a frame's code lives: a package, our dist/ file, node internals, or V8. */
export function placeOf(url) {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return url.slice(dist + 1);
  const bench = url.indexOf('/scripts/bench/');
  if (bench !== -1) return url.slice(bench + 1);
  return url.replace(/^file:\/\//, '');
}

export function summarize(file, {top = 25, match = []} = {}) {
  const {byId, parent, self, totalUs} = loadProfile(file);
  const byPlace = new Map();
  const byFunction = new Map();
  for (const [id, us] of self) {
    const {callFrame} = byId.get(id);
    const place = placeOf(callFrame.url);
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    const fn = `${callFrame.functionName || '(anonymous)'} ${place}:${callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  // Inclusive time of frames matching a filter (counted once per sample even when recursive).
  const inclusive = new Map();
  if (match.length > 0) {
    for (const [id, us] of self) {
      const seen = new Set();
      for (let n = id; n !== undefined; n = parent.get(n)) {
        const {callFrame} = byId.get(n);
        const key = `${callFrame.functionName || '(anonymous)'} ${placeOf(callFrame.url)}`;
        if (seen.has(key) || !match.some(m => key.includes(m))) continue;
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + us);
      }
    }
  }
  const sorted = m => [...m].sort((a, b) => b[1] - a[1]);
  return {totalUs, byPlace: sorted(byPlace), byFunction: sorted(byFunction).slice(0, top), inclusive: sorted(inclusive)};
}

function print({totalUs, byPlace, byFunction, inclusive}) {
  const pct = us => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;
  const ms = us => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  console.log(`total sampled: ${(totalUs / 1000).toFixed(0)} ms\n\nself time by place:`);
  for (const [k, v] of byPlace.slice(0, 30)) console.log(`${pct(v)} ${ms(v)}  ${k}`);
  console.log('\ntop functions by self time:');
  for (const [k, v] of byFunction) console.log(`${pct(v)} ${ms(v)}  ${k}`);
  if (inclusive.length > 0) {
    console.log('\ninclusive time of matching frames:');
    for (const [k, v] of inclusive.slice(0, 40)) console.log(`${pct(v)} ${ms(v)}  ${k}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const file = args.find(a => !a.startsWith('--') && args[args.indexOf(a) - 1] !== '--top' && args[args.indexOf(a) - 1] !== '--match');
  const opt = name => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  if (!file) {
    console.error('usage: node scripts/bench/profile-summary.mjs PROFILE.cpuprofile [--top 25] [--match a,b]');
    process.exit(2);
  }
  print(summarize(file, {top: Number(opt('--top') ?? 25), match: (opt('--match') ?? '').split(',').filter(Boolean)}));
}
