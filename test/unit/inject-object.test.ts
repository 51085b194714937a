import type {Container, Pod} from 'kubernetes-types/core/v1';
import {injectObject} from '../../functions/core/inject-object';
import {annotatedPod, configWith, defaultConfig, NSM_ANNOTATION, pod, STATUS_ANNOTATION} from '../support/fixtures';

const POD = {group: '', kind: 'Pod'};
const inject = (object: unknown, kind = POD, config = defaultConfig()) => injectObject({kind, object, seed: 'uid-1'}, config);
const injectedPod = (object: unknown): Pod => inject(object).object as Pod;
const envOf = (c: Container | undefined): Record<string, string | undefined> =>
  Object.fromEntries((c?.env ?? []).map(e => [e.name, e.value ?? JSON.stringify(e.valueFrom)]));

describe('injectObject on a Pod', () => {
  it('adds cmd-nsc-init after the init containers and cmd-nsc after the containers, with NSM env in order', () => {
    const result = inject(annotatedPod('kernel://a/nsm-1,kernel://b/nsm-2'));
    expect(result.decision).toEqual({
      outcome: 'injected',
      injected: {initContainers: ['cmd-nsc-init'], containers: ['cmd-nsc'], volumes: ['spire-agent-socket', 'nsm-socket']},
      requestedBy: 'pod',
    });
    const out = result.object as Pod;
    expect(out.spec?.containers.map(c => c.name)).toEqual(['app', 'cmd-nsc']);
    expect(out.spec?.initContainers?.map(c => c.name)).toEqual(['cmd-nsc-init']);
    for (const c of [out.spec?.initContainers?.[0], out.spec?.containers[1]]) {
      expect(c?.env?.map(e => e.name)).toEqual(['NSM_LOG_LEVEL', 'SPIFFE_ENDPOINT_SOCKET', 'POD_NAME', 'NSM_NETWORK_SERVICES', 'NSM_NAME']);
      expect(envOf(c)['NSM_NETWORK_SERVICES']).toBe('kernel://a/nsm-1,kernel://b/nsm-2');
      expect(envOf(c)['NSM_NAME']).toMatch(/^\$\(POD_NAME\)-[0-9a-f]{8}$/);
      expect(c?.resources).toEqual({requests: {cpu: '100m', memory: '40Mi'}, limits: {cpu: '200m', memory: '80Mi'}});
      expect(c?.imagePullPolicy).toBe('IfNotPresent');
      expect(c?.volumeMounts).toEqual([
        {name: 'spire-agent-socket', mountPath: '/run/spire/sockets', readOnly: true},
        {name: 'nsm-socket', mountPath: '/var/lib/networkservicemesh', readOnly: true},
      ]);
    }
    expect(out.metadata?.labels).toEqual({'spiffe.io/spiffe-id': 'true'});
    expect(JSON.parse(out.metadata?.annotations?.[STATUS_ANNOTATION] ?? '{}')).toMatchObject({config: defaultConfig().hash});
  });

  it('does not modify its input', () => {
    const input = annotatedPod();
    const before = JSON.stringify(input);
    inject(input);
    expect(JSON.stringify(input)).toBe(before);
  });

  it('is deterministic for one seed and differs across seeds', () => {
    const a = injectObject({kind: POD, object: annotatedPod(), seed: 'x'}, defaultConfig()).object;
    const b = injectObject({kind: POD, object: annotatedPod(), seed: 'x'}, defaultConfig()).object;
    const c = injectObject({kind: POD, object: annotatedPod(), seed: 'y'}, defaultConfig()).object as Pod;
    expect(a).toEqual(b);
    expect(envOf(c.spec?.containers[1])['NSM_NAME']).not.toBe(envOf((a as Pod).spec?.containers[1])['NSM_NAME']);
  });

  it('passes the annotation value byte for byte, whatever it holds', () => {
    const odd = 'kernel://a/nsm-1?x="quoted"&y=\\n\n\u2028 ünïcode,kernel://b/nsm-2 ';
    expect(envOf(injectedPod(annotatedPod(odd)).spec?.containers[1])['NSM_NETWORK_SERVICES']).toBe(odd);
  });

  it.each([
    ['no annotations', pod()],
    ['an empty annotation', pod({annotations: {[NSM_ANNOTATION]: ''}})],
    ['a blank annotation', pod({annotations: {[NSM_ANNOTATION]: '  '}})],
    ['another annotation only', pod({annotations: {'networkservicemesh.io/other': 'kernel://a/b'}})],
  ])('skips a pod with %s as not-requested, returning the same object', (_name, input) => {
    const result = inject(input);
    expect(result.decision).toEqual({outcome: 'skipped', reason: 'not-requested'});
    expect(result.object).toBe(input);
    expect(result.warnings).toEqual([]);
  });

  it.each([
    ['the object is an array', [], 'the object is not a JSON object'],
    ['metadata is a string', {metadata: 'x', spec: {containers: []}}, 'metadata is not an object'],
    ['the annotation is a number', {metadata: {annotations: {[NSM_ANNOTATION]: 5}}, spec: {containers: []}}, `annotation ${NSM_ANNOTATION} is not a string`],
    ['containers is not an array', {metadata: {annotations: {[NSM_ANNOTATION]: 'k://a'}}, spec: {containers: {}}}, 'spec.containers is not an array'],
    ['a container has no name', {metadata: {annotations: {[NSM_ANNOTATION]: 'k://a'}}, spec: {containers: [{image: 'x'}]}}, 'spec.containers[0].name is not a string'],
    ['volumes holds a string', {metadata: {annotations: {[NSM_ANNOTATION]: 'k://a'}}, spec: {containers: [], volumes: ['v']}}, 'spec.volumes[0] is not an object'],
    ['spec is missing', {metadata: {annotations: {[NSM_ANNOTATION]: 'k://a'}}}, 'spec is not an object'],
    ['labels hold a number', {metadata: {labels: {a: 1}, annotations: {[NSM_ANNOTATION]: 'k://a'}}, spec: {containers: []}}, 'metadata.labels is not a map of strings'],
  ])('allows odd input untouched with a warning naming it: %s', (_name, input, problem) => {
    const result = inject(input);
    expect(result.decision).toEqual({outcome: 'skipped', reason: 'invalid-object'});
    expect(result.object).toBe(input);
    expect(result.warnings).toEqual([expect.stringContaining(problem)]);
  });

  it('treats __proto__ and constructor as plain keys', () => {
    const input = JSON.parse(
      `{"metadata":{"annotations":{"${NSM_ANNOTATION}":"k://a","__proto__":"x"},"labels":{"constructor":"y"}},"spec":{"containers":[{"name":"app","image":"a"}]}}`,
    ) as unknown;
    const out = injectedPod(input);
    expect(Object.getPrototypeOf(out.metadata?.annotations)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(out.metadata?.annotations, '__proto__')).toBe(true);
    expect(out.metadata?.labels?.['constructor']).toBe('y');
  });

  it('recognises its own status annotation and NSM-webhook containers as already injected', () => {
    const once = injectedPod(annotatedPod());
    expect(inject(once).decision).toEqual({outcome: 'skipped', reason: 'already-injected'});
    const byNsm = pod({
      annotations: {[NSM_ANNOTATION]: 'k://a'},
      spec: {containers: [{name: 'app', image: 'a'}, {name: 'cmd-nsc', image: 'ghcr.io/networkservicemesh/cmd-nsc@sha256:abcd'}]},
    });
    const result = inject(byNsm);
    expect(result.decision).toEqual({outcome: 'skipped', reason: 'already-injected'});
    expect(result.warnings).toEqual([expect.stringContaining('container cmd-nsc runs ghcr.io/networkservicemesh/cmd-nsc')]);
  });

  it('renames on collisions and says so, never producing duplicate names', () => {
    const input = pod({
      annotations: {[NSM_ANNOTATION]: 'k://a'},
      spec: {containers: [{name: 'cmd-nsc', image: 'mine'}], initContainers: [{name: 'cmd-nsc-init', image: 'mine'}], volumes: [{name: 'nsm-socket', emptyDir: {}}]},
    });
    const result = inject(input);
    const out = result.object as Pod;
    const names = [...(out.spec?.initContainers ?? []), ...(out.spec?.containers ?? [])].map(c => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(out.spec?.volumes?.map(v => v.name)).size).toBe(out.spec?.volumes?.length);
    expect(out.spec?.containers[1]?.volumeMounts?.map(m => m.name)).toEqual(['spire-agent-socket', 'nsm-socket-2']);
    expect(result.warnings).toEqual([
      'the pod already has a volume named "nsm-socket"; the injected one is named "nsm-socket-2"',
      'the pod already has a container named "cmd-nsc-init"; the injected one is named "cmd-nsc-init-2"',
      'the pod already has a container named "cmd-nsc"; the injected one is named "cmd-nsc-2"',
    ]);
  });

  it('keeps a label the pod already has and warns', () => {
    const input = pod({annotations: {[NSM_ANNOTATION]: 'k://a'}});
    input.metadata = {...input.metadata, labels: {'spiffe.io/spiffe-id': 'false'}};
    const result = inject(input);
    expect((result.object as Pod).metadata?.labels).toEqual({'spiffe.io/spiffe-id': 'false'});
    expect(result.warnings).toEqual([expect.stringContaining('label spiffe.io/spiffe-id is already "false"')]);
  });

  it('with native sidecars, puts cmd-nsc right after cmd-nsc-init as a restartPolicy: Always init container', () => {
    const out = inject(annotatedPod(), POD, configWith({nativeSidecars: true})).object as Pod;
    expect(out.spec?.containers.map(c => c.name)).toEqual(['app']);
    expect(out.spec?.initContainers?.map(c => [c.name, c.restartPolicy])).toEqual([
      ['cmd-nsc-init', undefined],
      ['cmd-nsc', 'Always'],
    ]);
  });

  it('injects what the config says: another image, extra env, no sidecar', () => {
    const config = configWith({
      sidecars: [],
      initContainers: [{name: 'probe', image: 'example.com/probe:2', env: [{name: 'EXTRA', value: 'k=v=w'}]}],
    });
    const out = inject(annotatedPod(), POD, config).object as Pod;
    expect(out.spec?.containers.map(c => c.name)).toEqual(['app']);
    expect(out.spec?.initContainers?.[0]?.image).toBe('example.com/probe:2');
    expect(envOf(out.spec?.initContainers?.[0])['EXTRA']).toBe('k=v=w');
  });
});

describe('injectObject on workloads', () => {
  const deployment = (meta: object, templateMeta: object) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name: 'web', ...meta},
    spec: {template: {metadata: templateMeta, spec: {containers: [{name: 'web', image: 'nginx'}]}}},
  });
  const DEPLOYMENT = {group: 'apps', kind: 'Deployment'};
  const services = (obj: unknown) =>
    envOf((obj as {spec: {template: Pod}}).spec.template.spec?.containers[1])['NSM_NETWORK_SERVICES'];

  it('takes the annotation from the template first, then from the workload', () => {
    expect(services(inject(deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {}), DEPLOYMENT).object)).toBe('k://w');
    expect(
      services(inject(deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {annotations: {[NSM_ANNOTATION]: 'k://t'}}), DEPLOYMENT).object),
    ).toBe('k://t');
  });

  it('skips a ReplicaSet owned by a Deployment', () => {
    const rs = {
      ...deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}, ownerReferences: [{apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u'}]}, {}),
      kind: 'ReplicaSet',
    };
    expect(inject(rs, {group: 'apps', kind: 'ReplicaSet'}).decision).toEqual({outcome: 'skipped', reason: 'owned-by-deployment'});
  });

  it('ignores kinds it does not handle, and a known kind in the wrong group', () => {
    const input = {...deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {}), kind: 'Rollout'};
    expect(inject(input, {group: 'argoproj.io', kind: 'Rollout'}).decision).toEqual({outcome: 'skipped', reason: 'unsupported-kind'});
    expect(inject(input, {group: 'example.com', kind: 'Deployment'}).decision).toEqual({outcome: 'skipped', reason: 'unsupported-kind'});
  });

  it('marks the template, so a pod created from it is not injected again', () => {
    const injected = inject(deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {}), DEPLOYMENT).object as {spec: {template: Pod}};
    const podFromTemplate = {apiVersion: 'v1', kind: 'Pod', metadata: {...injected.spec.template.metadata, generateName: 'web-'}, spec: injected.spec.template.spec};
    expect(inject(podFromTemplate).decision).toEqual({outcome: 'skipped', reason: 'already-injected'});
  });
});

describe('a huge pod', () => {
  it('injects 30 containers x 1,500 env vars, preserving every user field', () => {
    const env = Array.from({length: 1500}, (_, i) => ({name: `VAR_${i}`, value: `value-${i}`}));
    const containers = Array.from({length: 30}, (_, i) => ({name: `c${i}`, image: `img:${i}`, env}));
    const input = pod({annotations: {[NSM_ANNOTATION]: 'k://a'}, spec: {containers}});
    const out = injectedPod(input);
    expect(out.spec?.containers).toHaveLength(31);
    expect(out.spec?.containers.slice(0, 30)).toEqual(containers);
  });
});
