import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {stringify} from 'yaml';
import {parseConfig} from '../../functions/config/parse';
import {ConfigSource, resolveConfigPath, bundledConfigPath} from '../../functions/config/source';
import type {LogFields, Logger, LogLevel} from '../../functions/ops/log';
import {DEFAULT_CONFIG_TEXT, defaultConfig} from '../support/fixtures';
import {FakeConfigMapVolume} from '../support/kubelet-volume';
import {eventually} from '../support/eventually';

const errorsOf = (text: string): string[] => {
  const r = parseConfig(text);
  return r.ok ? [] : r.errors;
};
const withDefault = (patch: Record<string, unknown>): string => stringify({...defaultConfig().config, ...patch});

describe('parseConfig', () => {
  it('fills the optional fields of a minimal config with their defaults', () => {
    const r = parseConfig('annotation: a.io\nstatusAnnotation: a.io/status\ninitContainers: []\nsidecars: [{name: s, image: "i:1"}]\n');
    expect(r.ok && r.value.config).toEqual({
      annotation: 'a.io',
      statusAnnotation: 'a.io/status',
      configHashLabel: 'sidecar-injector.networkservicemesh.io/config-hash',
      workloads: 'pods',
      nativeSidecars: false,
      podLabels: {},
      env: [],
      volumeMounts: [],
      initContainers: [],
      sidecars: [{name: 's', image: 'i:1'}],
      volumes: [],
      podSecurityDefault: 'privileged',
      podSecurity: {},
      sriovTokenLabel: 'sriovToken',
    });
  });

  it('hashes meaning, not formatting', () => {
    const a = parseConfig(DEFAULT_CONFIG_TEXT);
    const b = parseConfig(JSON.stringify(defaultConfig().config));
    expect(a.ok && b.ok && a.value.hash === b.value.hash).toBe(true);
    const c = parseConfig(withDefault({nativeSidecars: true}));
    expect(c.ok && a.ok && c.value.hash !== a.value.hash).toBe(true);
  });

  it.each([
    ['an unknown field', withDefault({sidecar: []}), '(top level): unknown field "sidecar"'],
    ['a missing field', 'annotation: a\nstatusAnnotation: b\ninitContainers: []\n', '(top level): missing required field "sidecars"'],
    ['a wrong type', withDefault({nativeSidecars: 'yes'}), 'nativeSidecars: must be boolean'],
    ['a bad container name', withDefault({sidecars: [{name: 'CMD_NSC', image: 'x'}]}), 'sidecars[0].name: must match pattern'],
    ['an image with spaces', withDefault({sidecars: [{name: 'a', image: 'x y'}]}), 'sidecars[0].image: must match pattern'],
    ['a bad pull policy', withDefault({sidecars: [{name: 'a', image: 'x', imagePullPolicy: 'Sometimes'}]}), 'sidecars[0].imagePullPolicy: must be equal to one of the allowed values'],
    ['env with two value sources', withDefault({env: [{name: 'A', value: 'x', injectorValue: 'nsmName'}]}), 'env[0]: set only one of value, valueFrom, injectorValue'],
    ['an unknown injector value', withDefault({env: [{name: 'A', injectorValue: 'podIP'}]}), 'env[0].injectorValue: must be equal to one of the allowed values'],
    ['a mount of an unknown volume', withDefault({volumeMounts: [{name: 'nope', mountPath: '/x'}]}), 'volumeMounts[0].name: no volume named "nope" in volumes'],
    ['a relative mount path', withDefault({volumeMounts: [{name: 'nsm-socket', mountPath: 'x'}]}), 'volumeMounts[0].mountPath: must match pattern'],
    ['duplicate container names', withDefault({initContainers: [{name: 'cmd-nsc', image: 'x'}]}), 'container name "cmd-nsc" is used twice'],
    ['duplicate volume names', withDefault({volumes: [{name: 'v', emptyDir: {}}, {name: 'v', emptyDir: {}}], volumeMounts: []}), 'volume name "v" is used twice'],
    ['a volume without a source', withDefault({volumes: [{name: 'v'}], volumeMounts: []}), 'volumes[0]: must NOT have fewer than 2 properties'],
    ['nothing to inject', withDefault({initContainers: [], sidecars: []}), 'nothing to inject'],
    ['an unknown workloads mode', withDefault({workloads: 'templates'}), 'workloads: must be equal to one of the allowed values'],
    ['a config-hash label that is not a label key', withDefault({configHashLabel: 'a b'}), 'configHashLabel: must match pattern'],
    ['a pod label that is the config-hash label', withDefault({podLabels: {'sidecar-injector.networkservicemesh.io/config-hash': 'x'}}), 'podLabels: "sidecar-injector.networkservicemesh.io/config-hash" is configHashLabel'],
    ['two documents', `${DEFAULT_CONFIG_TEXT}\n---\na: 1\n`, 'exactly one YAML document (found 2)'],
    ['no document', '# only a comment\n', 'exactly one YAML document (found 0)'],
    ['broken YAML', 'annotation: [unclosed\n', 'YAML:'],
    ['a list at the top', '- a\n- b\n', '(top level): must be object'],
  ])('rejects %s, naming the field', (_name, text, message) => {
    expect(errorsOf(text)).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
  });
});

/** Captures log lines for assertions. */
function recordingLogger(): Logger & {lines: Array<{level: LogLevel; message: string; fields: LogFields}>} {
  const lines: Array<{level: LogLevel; message: string; fields: LogFields}> = [];
  return {lines, log: (level, message, fields = {}) => lines.push({level, message, fields})};
}


describe('ConfigSource', () => {
  it('resolves INJECTOR_CONFIG: unset -> bundled, folder -> folder/config.yaml, file -> file', () => {
    expect(resolveConfigPath(undefined)).toBe(bundledConfigPath());
    expect(resolveConfigPath('')).toBe(bundledConfigPath());
    const dir = mkdtempSync(join(tmpdir(), 'nsm-cfg-'));
    expect(resolveConfigPath(dir)).toBe(join(dir, 'config.yaml'));
    expect(resolveConfigPath(join(dir, 'x.yaml'))).toBe(join(dir, 'x.yaml'));
    rmSync(dir, {recursive: true});
  });

  it('reloads on a kubelet ..data swap, refuses a bad update keeping the last good config, and logs both', async () => {
    const volume = new FakeConfigMapVolume(DEFAULT_CONFIG_TEXT);
    const logger = recordingLogger();
    const source = new ConfigSource({path: resolveConfigPath(volume.dir), logger, pollMs: 60_000});
    try {
      expect(source.load().ok).toBe(true);
      const first = source.get()?.hash;
      source.watch();

      volume.swap(withDefault({nativeSidecars: true}));
      await eventually(() => source.get()?.hash !== first, 'the new config');
      const second = source.get();
      expect(second?.config.nativeSidecars).toBe(true);

      volume.swap('annotation: [broken\n');
      await eventually(() => logger.lines.some(l => l.message.startsWith('config rejected')), 'the rejection');
      expect(source.get()).toBe(second);
      const rejection = logger.lines.find(l => l.message.startsWith('config rejected'));
      expect(rejection?.level).toBe('error');
      expect(rejection?.fields['activeConfigHash']).toBe(second?.hash);

      volume.swap(withDefault({nativeSidecars: false, podLabels: {a: 'b'}}));
      await eventually(() => source.get()?.config.podLabels['a'] === 'b', 'recovery after a bad config');
    } finally {
      source.close();
      volume.remove();
    }
  });

  it('reports an unreadable first config once (not on every re-read) and has none', () => {
    const logger = recordingLogger();
    const loads: boolean[] = [];
    const source = new ConfigSource({path: '/nonexistent/config.yaml', logger, onLoad: r => loads.push(r.ok)});
    expect(source.load()).toEqual({ok: false, errors: [expect.stringContaining('cannot read /nonexistent/config.yaml')]});
    source.load();
    source.load();
    expect(source.get()).toBeUndefined();
    expect(logger.lines.map(l => l.level)).toEqual(['error']);
    expect(loads).toEqual([false]);
  });
});
