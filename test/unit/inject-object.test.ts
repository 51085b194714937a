import type {Container, Pod} from 'kubernetes-types/core/v1';
import {injectObject} from '../../functions/core/inject-object';
import {annotatedPod, configWith, defaultConfig, HASH_LABEL, NSM_ANNOTATION, pod, STATUS_ANNOTATION} from '../support/fixtures';

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
    expect(out.metadata?.labels).toEqual({'spiffe.io/spiffe-id': 'true', [HASH_LABEL]: defaultConfig().hash});
    expect(JSON.parse(out.metadata?.annotations?.[STATUS_ANNOTATION] ?? '{}')).toMatchObject({config: defaultConfig().hash});
  });

  it('labels the pod with the hash of the config that injected it, a valid label value', () => {
    const hash = defaultConfig().hash;
    expect(hash).toMatch(/^[a-f0-9]{12}$/);
    expect(injectedPod(annotatedPod()).metadata?.labels?.[HASH_LABEL]).toBe(hash);
    const other = configWith({sidecars: [{name: 'cmd-nsc', image: 'ghcr.io/networkservicemesh/cmd-nsc:v1.18.1'}]});
    expect(other.hash).not.toBe(hash);
    expect((inject(annotatedPod(), POD, other).object as Pod).metadata?.labels?.[HASH_LABEL]).toBe(other.hash);
  });

  it('overwrites a config-hash label the pod brought with it, and says so', () => {
    const input = annotatedPod();
    input.metadata = {...input.metadata, labels: {[HASH_LABEL]: 'copied-from-elsewhere'}};
    const result = inject(input);
    expect((result.object as Pod).metadata?.labels?.[HASH_LABEL]).toBe(defaultConfig().hash);
    expect(result.warnings).toEqual([`label ${HASH_LABEL} was "copied-from-elsewhere"; set to "${defaultConfig().hash}", the config that injected this pod`]);
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
    ['another annotation only', pod({annotations: {'networkservicemesh.io/other': 'kernel://a/b'}})],
  ])('skips a pod with %s as not-requested, returning the same object', (_name, input) => {
    const result = inject(input);
    expect(result.decision).toEqual({outcome: 'skipped', reason: 'not-requested'});
    expect(result.object).toBe(input);
    expect(result.warnings).toEqual([]);
  });

  it.each([
    ['the pod', pod({annotations: {[NSM_ANNOTATION]: ' \t '}}), undefined, 'pod'],
    ['its namespace', pod(), {annotations: {[NSM_ANNOTATION]: '  '}, labels: {}}, 'namespace'],
  ])('skips a pod whose request (on %s) holds only blanks, and says so', (_name, input, namespace, where) => {
    const result = injectObject({kind: POD, object: input, seed: 'uid-1', namespace}, defaultConfig());
    expect(result.decision).toEqual({outcome: 'skipped', reason: 'not-requested'});
    expect(result.object).toBe(input);
    expect(result.warnings).toEqual([`annotation ${NSM_ANNOTATION} on the ${where} holds only blanks: treated as not requested, nothing injected`]);
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
    expect((result.object as Pod).metadata?.labels).toEqual({'spiffe.io/spiffe-id': 'false', [HASH_LABEL]: defaultConfig().hash});
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
  const templateMode = configWith({workloads: 'inject-template'});
  type Templated = {metadata: {annotations?: Record<string, string>}; spec: {template: Pod}};
  const services = (obj: unknown) => envOf((obj as Templated).spec.template.spec?.containers[1])['NSM_NETWORK_SERVICES'];

  describe('workloads: pods (the default): the workload keeps its containers, its pods are injected', () => {
    it('leaves a workload whose template asks for injection exactly as written', () => {
      const input = deployment({}, {annotations: {[NSM_ANNOTATION]: 'k://t'}});
      const result = inject(input, DEPLOYMENT);
      expect(result.decision).toEqual({outcome: 'deferred', requestedBy: 'template'});
      expect(result.object).toBe(input);
      expect(result.warnings).toEqual([]);
    });

    it("copies a request on the workload's own metadata (NSM's convention) into its template, and changes nothing else", () => {
      const input = deployment({annotations: {[NSM_ANNOTATION]: 'k://w', other: 'x'}}, {labels: {app: 'web'}});
      const before = JSON.stringify(input);
      const result = inject(input, DEPLOYMENT);
      expect(result.decision).toEqual({outcome: 'deferred', requestedBy: 'workload'});
      expect(JSON.stringify(input)).toBe(before);
      const expected = deployment({annotations: {[NSM_ANNOTATION]: 'k://w', other: 'x'}}, {labels: {app: 'web'}, annotations: {[NSM_ANNOTATION]: 'k://w'}});
      expect(result.object).toEqual(expected);
    });

    it('copies into a template without metadata, at every kind\'s template path (CronJob: spec.jobTemplate.spec.template)', () => {
      const cron = {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: {name: 'n', annotations: {[NSM_ANNOTATION]: 'k://w'}},
        spec: {schedule: '* * * * *', jobTemplate: {spec: {template: {spec: {restartPolicy: 'Never', containers: [{name: 't', image: 'b'}]}}}}},
      };
      const out = inject(cron, {group: 'batch', kind: 'CronJob'}).object as typeof cron & {spec: {jobTemplate: {spec: {template: {metadata?: unknown}}}}};
      expect(out.spec.jobTemplate.spec.template.metadata).toEqual({annotations: {[NSM_ANNOTATION]: 'k://w'}});
      expect(out.spec.jobTemplate.spec.template.spec).toBe(cron.spec.jobTemplate.spec.template.spec);
    });

    it('a pod made from the copied template is then injected, as its own request', () => {
      const copied = inject(deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {}), DEPLOYMENT).object as Templated;
      const fromTemplate = {apiVersion: 'v1', kind: 'Pod', metadata: {...copied.spec.template.metadata, generateName: 'web-'}, spec: copied.spec.template.spec};
      const result = inject(fromTemplate);
      expect(result.decision).toMatchObject({outcome: 'injected', requestedBy: 'pod'});
      expect(envOf((result.object as Pod).spec?.containers[1])['NSM_NETWORK_SERVICES']).toBe('k://w');
    });

    it('does not copy onto a template that already runs our (or NSM\'s) containers: its pods would get a second copy', () => {
      const input = deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {});
      input.spec.template.spec.containers.push({name: 'cmd-nsc', image: 'ghcr.io/networkservicemesh/cmd-nsc:v1.17.0'});
      const result = inject(input, DEPLOYMENT);
      expect(result.decision).toEqual({outcome: 'skipped', reason: 'already-injected'});
      expect(result.object).toBe(input);
    });

    it('still says what a pod author tried to steer, and which SR-IOV pools are refused, where someone reads it', () => {
      const input = deployment({annotations: {[NSM_ANNOTATION]: 'k://w?sriovToken=kubernetes.io/evil', 'sidecar-injector.networkservicemesh.io/image': 'x'}}, {});
      expect(inject(input, DEPLOYMENT).warnings).toEqual([
        'annotation "sidecar-injector.networkservicemesh.io/image" is ignored: what is injected is set by the injector\'s config only',
        'a sriovToken value is not an extended resource name (domain/name outside kubernetes.io); ignored',
      ]);
    });

    it('a blank request on the workload is not-requested, with a warning, and nothing is copied', () => {
      const input = deployment({annotations: {[NSM_ANNOTATION]: ' '}}, {});
      const result = inject(input, DEPLOYMENT);
      expect(result.decision).toEqual({outcome: 'skipped', reason: 'not-requested'});
      expect(result.object).toBe(input);
      expect(result.warnings).toEqual([`annotation ${NSM_ANNOTATION} on the workload holds only blanks: treated as not requested, nothing injected`]);
    });

    it('the caller can force inject-template (the CLI does)', () => {
      const result = injectObject({kind: DEPLOYMENT, object: deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {}), seed: 's', workloads: 'inject-template'}, defaultConfig());
      expect(result.decision).toMatchObject({outcome: 'injected', requestedBy: 'workload'});
      expect(services(result.object)).toBe('k://w');
    });
  });

  describe('workloads: inject-template (NSM\'s way)', () => {
    it('takes the annotation from the template first, then from the workload', () => {
      expect(services(inject(deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {}), DEPLOYMENT, templateMode).object)).toBe('k://w');
      expect(
        services(inject(deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {annotations: {[NSM_ANNOTATION]: 'k://t'}}), DEPLOYMENT, templateMode).object),
      ).toBe('k://t');
    });

    it('marks the template, so a pod created from it is not injected again', () => {
      const injected = inject(deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {}), DEPLOYMENT, templateMode).object as Templated;
      expect(injected.spec.template.metadata?.labels?.[HASH_LABEL]).toBe(templateMode.hash);
      const podFromTemplate = {apiVersion: 'v1', kind: 'Pod', metadata: {...injected.spec.template.metadata, generateName: 'web-'}, spec: injected.spec.template.spec};
      expect(inject(podFromTemplate).decision).toEqual({outcome: 'skipped', reason: 'already-injected'});
    });
  });

  it.each([
    ['pods', defaultConfig()],
    ['inject-template', templateMode],
  ])('skips a ReplicaSet owned by a Deployment (workloads: %s)', (_mode, config) => {
    const rs = {
      ...deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}, ownerReferences: [{apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u'}]}, {}),
      kind: 'ReplicaSet',
    };
    const result = inject(rs, {group: 'apps', kind: 'ReplicaSet'}, config);
    expect(result.decision).toEqual({outcome: 'skipped', reason: 'owned-by-deployment'});
    expect(result.object).toBe(rs);
  });

  it('ignores kinds it does not handle, and a known kind in the wrong group', () => {
    const input = {...deployment({annotations: {[NSM_ANNOTATION]: 'k://w'}}, {}), kind: 'Rollout'};
    expect(inject(input, {group: 'argoproj.io', kind: 'Rollout'}).decision).toEqual({outcome: 'skipped', reason: 'unsupported-kind'});
    expect(inject(input, {group: 'example.com', kind: 'Deployment'}).decision).toEqual({outcome: 'skipped', reason: 'unsupported-kind'});
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
