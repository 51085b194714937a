/**
 * The drop-in for NSM's webhook settings (functions/config/nsm-env.ts). The expected readings of odd
 * values were taken from NSM's own code path: envconfig v1.4.0 (from the Go module proxy) processing
 * the struct tags of NSM's internal/config/config.go, and its NSM_ENVS split and container naming,
 * run as a scratch Go program (not part of this repository).
 */
import type {Container, Pod} from 'kubernetes-types/core/v1';
import {configFromNsmEnv, nsmContainerName, nsmSettingsIn, type NsmConfig} from '../../functions/config/nsm-env';
import type {VersionedConfig} from '../../functions/core/config';
import {injectObject} from '../../functions/core/inject-object';
import {annotatedPod, DEFAULT_CONFIG_TEXT, defaultConfig, defaultConfigWithLogLevel, nsmWebhookEnv} from '../support/fixtures';

const build = (env: Record<string, string>): NsmConfig => configFromNsmEnv(DEFAULT_CONFIG_TEXT, env);
const built = (env: Record<string, string>): VersionedConfig & {notes: string[]} => {
  const result = build(env);
  if (!result.ok) throw new Error(result.errors.join('; '));
  return {...result.value, notes: result.notes};
};
const errorsOf = (env: Record<string, string>): string[] => {
  const result = build(env);
  return result.ok ? [] : result.errors;
};
const IMAGE = {NSM_CONTAINER_IMAGES: 'ghcr.io/networkservicemesh/cmd-nsc:v1.18.0'};

describe("NSM v1.18.0's own Deployment env", () => {
  it('describes the bundled default config exactly: same config, same hash', () => {
    const nsm = built(nsmWebhookEnv());
    expect(nsm.config).toEqual(defaultConfig().config);
    expect(nsm.hash).toBe(defaultConfig().hash);
    expect(nsm.notes).toEqual([]);
    // The log level it passes really is read: another one gives another config.
    expect(built({...nsmWebhookEnv(), NSM_ENVS: 'NSM_LOG_LEVEL=INFO'}).hash).toBe(defaultConfigWithLogLevel('INFO').hash);
    expect(defaultConfigWithLogLevel('INFO').hash).not.toBe(defaultConfig().hash);
  });

  it('injects a pod exactly as that config does', () => {
    const nsm = built(nsmWebhookEnv());
    const viaNsm = injectObject({kind: {group: '', kind: 'Pod'}, object: annotatedPod(), seed: 'uid'}, nsm);
    const viaFile = injectObject({kind: {group: '', kind: 'Pod'}, object: annotatedPod(), seed: 'uid'}, defaultConfig());
    expect(JSON.stringify(viaNsm.object)).toBe(JSON.stringify(viaFile.object));
    const sidecar = (viaNsm.object as Pod).spec?.containers[1] as Container;
    expect(sidecar.env?.map(e => [e.name, e.value ?? 'valueFrom'])).toEqual([
      ['NSM_LOG_LEVEL', 'TRACE'],
      ['SPIFFE_ENDPOINT_SOCKET', 'unix:///run/spire/sockets/agent.sock'],
      ['POD_NAME', 'valueFrom'],
      ['NSM_NETWORK_SERVICES', 'kernel://icmp-responder/nsm-1'],
      ['NSM_NAME', expect.stringMatching(/^\$\(POD_NAME\)-[0-9a-f]{8}$/)],
    ]);
  });

  it("only NSM's injection settings count: the webhook's own name, namespace, service and socket do not", () => {
    expect(nsmSettingsIn(nsmWebhookEnv())).toEqual(['NSM_ANNOTATION', 'NSM_LABELS', 'NSM_INIT_CONTAINER_IMAGES', 'NSM_CONTAINER_IMAGES', 'NSM_ENVS']);
    expect(nsmSettingsIn({NSM_NAME: 'x', NSM_NAMESPACE: 'y', NSM_SERVICE_NAME: 'z', SPIFFE_ENDPOINT_SOCKET: 's'})).toEqual([]);
    // Set to the empty string is set, as envconfig reads it.
    expect(nsmSettingsIn({NSM_LABELS: ''})).toEqual(['NSM_LABELS']);
  });

  it("NSM's hard-coded volumes and mounts are the bundled default's (the drop-in takes them from there)", () => {
    // Quoted from NSM's main.go: createVolumesPatch and addVolumeMounts.
    expect(defaultConfig().config.volumes).toEqual([
      {name: 'spire-agent-socket', hostPath: {path: '/run/spire/sockets', type: 'Directory'}},
      {name: 'nsm-socket', hostPath: {path: '/var/lib/networkservicemesh', type: 'Directory'}},
    ]);
    expect(defaultConfig().config.volumeMounts).toEqual([
      {name: 'spire-agent-socket', mountPath: '/run/spire/sockets', readOnly: true},
      {name: 'nsm-socket', mountPath: '/var/lib/networkservicemesh', readOnly: true},
    ]);
    expect(defaultConfig().config.sriovTokenLabel).toBe('sriovToken');
  });
});

describe("reading NSM's settings as NSM does", () => {
  it("unset settings take NSM's defaults: its annotation and env name, no labels, no extra env, its resources", () => {
    const {config} = built(IMAGE);
    expect(config.annotation).toBe('networkservicemesh.io');
    expect(config.podLabels).toEqual({});
    expect(config.env.map(e => e.name)).toEqual(['SPIFFE_ENDPOINT_SOCKET', 'POD_NAME', 'NSM_NETWORK_SERVICES', 'NSM_NAME']);
    expect(config.initContainers).toEqual([]);
    expect(config.sidecars).toEqual([
      {
        name: 'cmd-nsc',
        image: 'ghcr.io/networkservicemesh/cmd-nsc:v1.18.0',
        imagePullPolicy: 'IfNotPresent',
        resources: {requests: {cpu: '100m', memory: '40Mi'}, limits: {cpu: '200m', memory: '80Mi'}},
      },
    ]);
  });

  it('every setting lands where NSM puts it', () => {
    const {config} = built({
      NSM_ANNOTATION: 'example.com/ns',
      NSM_NSURL_ENV_NAME: 'SERVICES',
      NSM_LABELS: 'a:1,b.io/c:2',
      NSM_ENVS: 'X=1,Y=',
      NSM_INIT_CONTAINER_IMAGES: 'localhost:5000/nsm/init:dev,registry.example.com/probe',
      NSM_CONTAINER_IMAGES: 'reg:5000/x/cmd-nsc:v1',
      NSM_SIDECAR_LIMITS_MEMORY: '1Gi',
      NSM_SIDECAR_LIMITS_CPU: '1',
      NSM_SIDECAR_REQUESTS_MEMORY: '1e3',
      NSM_SIDECAR_REQUESTS_CPU: '.5',
    });
    expect(config.annotation).toBe('example.com/ns');
    expect(config.podLabels).toEqual({a: '1', 'b.io/c': '2'});
    expect(config.env).toEqual([
      {name: 'X', value: '1'},
      {name: 'Y', value: ''},
      {name: 'SPIFFE_ENDPOINT_SOCKET', value: 'unix:///run/spire/sockets/agent.sock'},
      {name: 'POD_NAME', valueFrom: {fieldRef: {fieldPath: 'metadata.name'}}},
      {name: 'SERVICES', injectorValue: 'networkServices'},
      {name: 'NSM_NAME', injectorValue: 'nsmName'},
    ]);
    expect([...config.initContainers, ...config.sidecars].map(c => [c.name, c.image])).toEqual([
      ['init', 'localhost:5000/nsm/init:dev'],
      ['probe', 'registry.example.com/probe'],
      ['cmd-nsc', 'reg:5000/x/cmd-nsc:v1'],
    ]);
    for (const c of [...config.initContainers, ...config.sidecars]) {
      expect(c.resources).toEqual({requests: {cpu: '.5', memory: '1e3'}, limits: {cpu: '1', memory: '1Gi'}});
    }
  });

  it.each([
    ['ghcr.io/networkservicemesh/cmd-nsc:v1.18.0', 'cmd-nsc'],
    ['cmd-nsc', 'cmd-nsc'],
    ['registry:5000/cmd-nsc', 'cmd-nsc'],
    ['registry:5000/a/cmd-nsc:v1', 'cmd-nsc'],
    ['ghcr.io/x/cmd-nsc@sha256:abcd', 'cmd-nsc@sha256'],
    ['x/', 'x'],
    ['', '.'],
  ])("names the container for %j %j, as NSM's nameOf does", (image, name) => {
    expect(nsmContainerName(image)).toBe(name);
  });

  it('keeps blanks around names and values, and a list that is only blanks is empty (no trimming, as envconfig)', () => {
    const {config} = built({...IMAGE, NSM_ENVS: ' A = b', NSM_LABELS: ' '});
    expect(config.env[0]).toEqual({name: ' A ', value: ' b'});
    expect(config.podLabels).toEqual({});
  });

  it('cuts an NSM_ENVS value at a second "=", as NSM does, and says so', () => {
    const nsm = built({...IMAGE, NSM_ENVS: 'OPTS=a=b'});
    expect(nsm.config.env[0]).toEqual({name: 'OPTS', value: 'a'});
    expect(nsm.notes).toEqual(['NSM_ENVS: entry for "OPTS" holds more than one "="; its value is cut to "a", as NSM does']);
  });

  it.each([
    ['an NSM_ENVS entry without "=" (NSM panics: index out of range)', {NSM_ENVS: 'A=1,DEBUG'}, 'NSM_ENVS: entry "DEBUG" has no "=" (NSM\'s webhook panics on it); write NAME=VALUE'],
    ['an NSM_ENVS entry with an empty name', {NSM_ENVS: '=1'}, 'NSM_ENVS: entry "=1" has an empty name'],
    ['a label item with two ":" (envconfig: invalid map item)', {NSM_LABELS: 'a:b:c'}, 'NSM_LABELS: item "a:b:c" is not KEY:VALUE'],
    ['a trailing "," in the labels (an empty item)', {NSM_LABELS: 'a:b,'}, 'NSM_LABELS: item "" is not KEY:VALUE'],
    ['a resource that is not a quantity', {NSM_SIDECAR_LIMITS_MEMORY: '80 MB'}, 'NSM_SIDECAR_LIMITS_MEMORY: "80 MB" is not a Kubernetes quantity'],
    ['a resource set to the empty string (set, so not defaulted)', {NSM_SIDECAR_REQUESTS_CPU: ''}, 'NSM_SIDECAR_REQUESTS_CPU: "" is not a Kubernetes quantity'],
    ['a digest image: NSM names its container cmd-nsc@sha256', {NSM_CONTAINER_IMAGES: 'ghcr.io/x/cmd-nsc@sha256:abcd'}, 'NSM_CONTAINER_IMAGES: NSM names the container for "ghcr.io/x/cmd-nsc@sha256:abcd" "cmd-nsc@sha256"'],
    ['an empty image in the list', {NSM_CONTAINER_IMAGES: 'a,,b'}, 'NSM_CONTAINER_IMAGES: item 2 is empty'],
    ['no image at all', {NSM_CONTAINER_IMAGES: ' '}, 'neither NSM_INIT_CONTAINER_IMAGES nor NSM_CONTAINER_IMAGES names an image'],
    ['an empty annotation', {NSM_ANNOTATION: ''}, 'NSM_ANNOTATION is empty'],
    ['an empty network services env name', {NSM_NSURL_ENV_NAME: ''}, 'NSM_NSURL_ENV_NAME is empty'],
    ['an annotation that is no annotation key', {NSM_ANNOTATION: 'not valid!'}, "the config NSM's settings describe: annotation: must match pattern"],
    ['the same image twice', {NSM_CONTAINER_IMAGES: 'a/x:1,b/x:2'}, 'the config NSM\'s settings describe: initContainers/sidecars: container name "x" is used twice'],
  ])('refuses %s, naming it', (_what, env, message) => {
    expect(errorsOf({...IMAGE, ...env})).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
  });
});
