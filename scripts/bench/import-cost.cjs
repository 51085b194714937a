/**
 * Import costs, each measured in a fresh process (run.mjs runs these several times and takes medians):
 *
 *   node scripts/bench/import-cost.cjs time MODULE [--after-ff]
 *     times require(MODULE); with --after-ff, first loads (untimed) what functions-framework's CLI
 *     has loaded before it loads a function: its loader, server (express, body-parser), invoker
 *   node scripts/bench/import-cost.cjs path [MODULE]
 *     the start-up path: loads functions-framework's modules, then dist/functions/index.js (or MODULE) as
 *     `npm start` does, timing every first load of a file; prints, for each of the two steps, the
 *     time spent in each package's (or dist/ file's) own code, nested loads excluded. index.js
 *     runs createRuntime() when loaded, so its own time includes reading and validating the config
 *   node scripts/bench/import-cost.cjs runtime
 *     times createRuntime() alone, everything already loaded
 * MODULE: a package name, or a path relative to the project root (dist/functions/...).
 */
'use strict';
const Module = require('node:module');
const {existsSync, readFileSync, writeSync} = require('node:fs');
const {dirname, join, sep} = require('node:path');

const root = join(__dirname, '..', '..');
const resolveSpec = spec => (spec.startsWith('dist/') || spec.startsWith('scripts/') ? join(root, spec) : require.resolve(spec, {paths: [root]}));
const load = spec => require(resolveSpec(spec));
const now = () => Number(process.hrtime.bigint()) / 1e6;

function packageDir(name) {
  let dir = dirname(resolveSpec(name));
  while (!(existsSync(join(dir, 'package.json')) && JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === name)) dir = dirname(dir);
  return dir;
}
/** What functions-framework's main.js requires before it loads the user's function. */
function loadFramework() {
  const src = join(packageDir('@google-cloud/functions-framework'), 'build', 'src');
  for (const m of ['loader', 'invoker', 'server', 'options', 'logger']) require(join(src, `${m}.js`));
}

function packageOf(file) {
  const marker = `${sep}node_modules${sep}`;
  const nm = file.lastIndexOf(marker);
  if (nm === -1) return file.startsWith(root) ? file.slice(root.length + 1) : file;
  const parts = file.slice(nm + marker.length).split(sep);
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

const print = value => writeSync(1, `${JSON.stringify(value)}\n`);
// The runtime logs a start line on stdout; keep stdout for our one JSON line.
process.stdout.write = () => true;

const [mode, spec, flag] = process.argv.slice(2);
if (mode === 'time') {
  if (flag === '--after-ff') loadFramework();
  const t0 = now();
  load(spec);
  print({ms: now() - t0});
} else if (mode === 'runtime') {
  loadFramework();
  const {createRuntime} = load('dist/functions/runtime.js');
  const t0 = now();
  const runtime = createRuntime({watch: true});
  const ms = now() - t0;
  runtime.close();
  print({ms});
} else if (mode === 'path') {
  // Self time per package: each first load of a file is timed, minus the first loads nested in it.
  const phases = {framework: {self: {}, files: {}}, function: {self: {}, files: {}}};
  let phase = phases.framework;
  const stack = [];
  const originalLoad = Module._load;
  Module._load = function (request, parent, isMain) {
    let filename;
    try {
      filename = Module._resolveFilename(request, parent, isMain);
    } catch {
      return originalLoad.apply(this, arguments);
    }
    if (Module._cache[filename] !== undefined || !filename.includes(sep)) return originalLoad.apply(this, arguments);
    const frame = {nested: 0};
    stack.push(frame);
    const t0 = now();
    try {
      return originalLoad.apply(this, arguments);
    } finally {
      const took = now() - t0;
      stack.pop();
      const pkg = packageOf(filename);
      phase.self[pkg] = (phase.self[pkg] ?? 0) + took - frame.nested;
      phase.files[pkg] = (phase.files[pkg] ?? 0) + 1;
      if (stack.length > 0) stack[stack.length - 1].nested += took;
    }
  };
  const t0 = now();
  loadFramework();
  const t1 = now();
  phase = phases.function;
  load(spec ?? 'dist/functions/index.js');
  const t2 = now();
  print({frameworkMs: t1 - t0, functionMs: t2 - t1, ...phases});
  process.exit(0);
} else {
  process.stderr.write('usage: import-cost.cjs time MODULE [--after-ff] | runtime | path [MODULE]\n');
  process.exit(2);
}
