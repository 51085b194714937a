/**
 * What the built function loads, checked in a fresh node process (dist/, built by `npm test`'s
 * pretest): the heavy parts of prom-client, the cloudevents SDK, Ajv's compiler and the YAML parser stay unloaded unless needed,
 * since a scale-to-zero function pays every import on each cold start.
 */
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

interface Loaded {
  readonly cloudevents: boolean;
  readonly promClientIndex: boolean;
  readonly opentelemetry: boolean;
  readonly promClientCounter: boolean;
  readonly ajvCompiler: boolean;
  readonly yaml: boolean;
}

function loadedModules(env: Record<string, string>): Loaded {
  const script = `
    const {createRuntime} = require('./dist/functions/runtime.js');
    const runtime = createRuntime({watch: false, env: JSON.parse(process.argv[1]), logger: {log() {}}});
    // A turn of the event loop, so that any import started at startup has happened.
    setImmediate(() => {
      const mods = Object.keys(require.cache);
      const has = part => mods.some(m => m.includes(part));
      process.stdout.write(JSON.stringify({
        cloudevents: has('/node_modules/cloudevents/'),
        promClientIndex: has('/node_modules/prom-client/index.js'),
        opentelemetry: has('/node_modules/@opentelemetry/'),
        promClientCounter: has('/node_modules/prom-client/lib/counter.js'),
        ajvCompiler: has('/node_modules/ajv/dist/ajv.js') || has('/node_modules/ajv/dist/core.js'),
        yaml: has('/node_modules/yaml/'),
      }));
      runtime.close();
    });`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script, JSON.stringify(env)], {encoding: 'utf8'})) as Loaded;
}

describe('imports at startup', () => {
  it('without K_SINK: prom-client core only, no cloudevents SDK, no Ajv compiler (validators are pre-generated), no YAML parser (the bundled config is pre-parsed)', () => {
    expect(loadedModules({})).toEqual({cloudevents: false, promClientIndex: false, opentelemetry: false, promClientCounter: true, ajvCompiler: false, yaml: false});
  });

  it("with NSM's webhook settings: no YAML parser either (they apply on the bundled config)", () => {
    expect(loadedModules({NSM_CONTAINER_IMAGES: 'ghcr.io/networkservicemesh/cmd-nsc:v1.18.0'})).toMatchObject({yaml: false});
  });

  it('with a config of its own: the YAML parser is loaded to read it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-imports-'));
    writeFileSync(join(dir, 'config.yaml'), `${readFileSync('manifests/base/config.yaml', 'utf8')}# changed\n`);
    expect(loadedModules({INJECTOR_CONFIG: dir})).toMatchObject({yaml: true});
    rmSync(dir, {recursive: true});
  });

  it('with K_SINK: the cloudevents SDK is loaded at startup, before any request', () => {
    expect(loadedModules({K_SINK: 'http://127.0.0.1:9/'})).toMatchObject({cloudevents: true, promClientIndex: false});
  });
});
