/**
 * The deploy manifests, offline: both kustomize profiles render (with the machine's kubectl), every
 * object validates against its schema (kubernetes-models, and the cert-manager and Knative models),
 * and the invariants that keep a cluster alive hold. The core kinds also go through a real
 * apiserver's server-side dry-run in the end-to-end suite (test/e2e/manifests.e2e.test.ts).
 */
import {spawnSync} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {parse, parseAllDocuments} from 'yaml';
import {isProbe, MAX_BODY_BYTES} from '../functions/http/handler';
import {namespaceLabels, selects, type Selector} from './support/label-selector';

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  [field: string]: unknown;
}
interface Rule {
  operations: string[];
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  scope?: string;
}
interface Webhook {
  name: string;
  admissionReviewVersions: string[];
  sideEffects: string;
  reinvocationPolicy?: string;
  failurePolicy?: string;
  timeoutSeconds?: number;
  clientConfig: {service?: {name: string; namespace: string; path?: string; port?: number}; url?: string; caBundle?: string};
  rules: Rule[];
  namespaceSelector?: Selector;
  objectSelector?: Selector;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: {drop?: string[]; add?: string[]};
  seccompProfile?: {type: string};
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: Array<{name: string; value?: string}>;
  ports?: Array<{name?: string; containerPort: number}>;
  volumeMounts?: Array<{name: string; mountPath: string; readOnly?: boolean}>;
  readinessProbe?: {httpGet?: {path: string; scheme?: string; port?: string | number}};
  livenessProbe?: {httpGet?: {path: string; scheme?: string; port?: string | number}};
  resources?: {requests?: Record<string, string>; limits?: Record<string, string>};
  securityContext?: SecurityContext;
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: SecurityContext;
  containers: Container[];
  volumes?: Array<{name: string; configMap?: {name: string}; secret?: {secretName: string}}>;
  affinity?: {podAntiAffinity?: unknown};
}
interface PodTemplate {
  metadata?: {labels?: Record<string, string>; annotations?: Record<string, string>};
  spec: PodSpec;
}

const PROFILES = ['knative', 'deployment'] as const;
type Profile = (typeof PROFILES)[number];

/** The namespaces issue 4 says the webhook must never be sent. */
const NEVER_SENT = ['nsm-sidecar-injector', 'kube-system', 'kube-public', 'kube-node-lease', 'cert-manager', 'knative-serving', 'kourier-system', 'istio-system', 'traefik', 'spire', 'nsm-system'];
const OPT_OUT = {'sidecar-injector.networkservicemesh.io/injection': 'disabled'};

function renderPath(path: string): KubeObject[] {
  const out = spawnSync('kubectl', ['kustomize', path], {encoding: 'utf8'});
  if (out.error !== undefined) throw new Error(`kubectl is needed to render the manifests: ${out.error.message}`);
  if (out.status !== 0) throw new Error(`kubectl kustomize ${path} failed:\n${out.stderr}`);
  return parseAllDocuments(out.stdout).map(d => d.toJS() as KubeObject);
}
const render = (profile: Profile): KubeObject[] => renderPath(`manifests/${profile}`);

/**
 * Schema validation with kubernetes-models and its cert-manager / Knative packages. They are
 * ES modules only (node >= 22 by their engines field, but they load on 20) and this jest setup runs
 * CommonJS, so a child node imports them: the model class for each object's apiVersion and kind,
 * then `new Model(object).validate()`. An object whose kind has no model is a failure, not a skip.
 */
const VALIDATOR = `
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const objects = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const packages = {'cert-manager.io': '@kubernetes-models/cert-manager', 'serving.knative.dev': '@kubernetes-models/knative', 'traefik.io': '@kubernetes-models/traefik'};
const results = [];
for (const object of objects) {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const model = (packages[group] ?? 'kubernetes-models') + '/' + (group === '' ? '' : group + '/') + version + '/' + object.kind;
  const id = object.kind + '/' + (object.metadata && object.metadata.name);
  try {
    const Model = (await import(model))[object.kind];
    if (typeof Model !== 'function') throw new Error('no model class ' + object.kind + ' in ' + model);
    new Model(object).validate();
    results.push({id, model, error: null});
  } catch (error) {
    results.push({id, model, error: error.message});
  }
}
process.stdout.write(JSON.stringify(results));
`;

interface Validation {
  id: string;
  model: string;
  error: string | null;
}

function validateWithModels(objects: readonly unknown[]): Validation[] {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', VALIDATOR], {input: JSON.stringify(objects), encoding: 'utf8'});
  if (out.status !== 0) throw new Error(`the model validator failed:\n${out.stderr}`);
  return JSON.parse(out.stdout) as Validation[];
}

const skaffold = parse(readFileSync('skaffold.yaml', 'utf8')) as {
  build: {artifacts: Array<{image: string; docker?: {dockerfile?: string}}>};
  manifests: {kustomize: {paths: string[]}};
  resourceSelector?: {allow?: Array<{groupKind: string}>};
  profiles: Array<{name: string; manifests?: {kustomize: {paths: string[]}}; resourceSelector?: unknown; patches?: unknown[]}>;
};

const kustomizePathsFor = (profile: Profile): string[] =>
  skaffold.profiles.find(p => p.name === profile)?.manifests?.kustomize.paths ?? skaffold.manifests.kustomize.paths;

const rendered: Record<Profile, KubeObject[]> = {knative: render('knative'), deployment: render('deployment')};

const only = (objects: KubeObject[], kind: string, apiVersion?: string): KubeObject => {
  const found = objects.filter(o => o.kind === kind && (apiVersion === undefined || o.apiVersion === apiVersion));
  if (found.length !== 1) throw new Error(`expected exactly one ${apiVersion ?? ''} ${kind}, found ${found.length}`);
  return found[0] as KubeObject;
};
const webhookOf = (objects: KubeObject[]): Webhook => {
  const hooks = (only(objects, 'MutatingWebhookConfiguration') as KubeObject & {webhooks: Webhook[]}).webhooks;
  expect(hooks).toHaveLength(1);
  return hooks[0] as Webhook;
};
/** The pod template that runs the function: the Deployment's, or the Knative Service's. */
const podTemplateOf = (objects: KubeObject[]): PodTemplate => {
  const workload = objects.find(o => o.kind === 'Deployment' || (o.kind === 'Service' && o.apiVersion === 'serving.knative.dev/v1'));
  if (workload === undefined) throw new Error('no Deployment or Knative Service rendered');
  return (workload as KubeObject & {spec: {template: PodTemplate}}).spec.template;
};
const envOf = (c: Container, name: string): string | undefined => c.env?.find(e => e.name === name)?.value;

describe('the model validator itself', () => {
  it('fails an object that breaks its schema, and one whose kind it has no model for', () => {
    const mwc = only(rendered.deployment, 'MutatingWebhookConfiguration') as KubeObject & {webhooks: Webhook[]};
    const broken = {...mwc, webhooks: mwc.webhooks.map(w => ({...w, timeoutSeconds: 'soon'}))};
    const [brokenResult, unknownResult] = validateWithModels([broken, {apiVersion: 'example.com/v1', kind: 'Gizmo', metadata: {name: 'g'}}]);
    expect(brokenResult?.error).toMatch(/timeoutSeconds must be integer/);
    expect(unknownResult?.error).not.toBeNull();
  });
});

describe.each(PROFILES)('manifests/%s', profile => {
  const objects = rendered[profile];
  const webhook = webhookOf(objects);
  const template = podTemplateOf(objects);
  const containers = template.spec.containers;

  it('every rendered object validates against its schema', () => {
    const results = validateWithModels(objects);
    expect(results).toHaveLength(objects.length);
    expect(results.filter(r => r.error !== null)).toEqual([]);
    // The cert-manager and Knative kinds were checked with their CRD models, not skipped.
    const models = results.map(r => r.model);
    expect(models).toEqual(expect.arrayContaining(['@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate', 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration']));
    if (profile === 'knative') expect(models).toContain('@kubernetes-models/knative/serving.knative.dev/v1/Service');
  });

  it('every object carries the app.kubernetes.io/name and part-of labels, the profile\'s own objects included', () => {
    const unlabelled = objects
      .filter(o => o.metadata.labels?.['app.kubernetes.io/name'] !== 'nsm-sidecar-injector' || o.metadata.labels['app.kubernetes.io/part-of'] !== 'networkservicemesh')
      .map(o => `${o.kind}/${o.metadata.name}`);
    expect(unlabelled).toEqual([]);
    // The objects only this profile renders are among those checked.
    const own = profile === 'knative' ? ['Service.serving.knative.dev'] : ['Deployment', 'Service', 'PodDisruptionBudget'];
    expect(objects.map(o => (o.apiVersion === 'serving.knative.dev/v1' ? `${o.kind}.serving.knative.dev` : o.kind))).toEqual(expect.arrayContaining(own));
  });

  it('the webhook never sees the injector namespace, kube-system or any other listed namespace, and honours the opt-out label', () => {
    const injectorNamespace = only(objects, 'Namespace').metadata.name;
    expect(injectorNamespace).toBe('nsm-sidecar-injector');
    for (const ns of [injectorNamespace, ...NEVER_SENT]) expect([ns, selects(webhook.namespaceSelector, namespaceLabels(ns))]).toEqual([ns, false]);
    expect(selects(webhook.namespaceSelector, namespaceLabels('apps'))).toBe(true);
    expect(selects(webhook.namespaceSelector, namespaceLabels('apps', OPT_OUT))).toBe(false);
    expect(selects(webhook.objectSelector, {app: 'client'})).toBe(true);
    expect(selects(webhook.objectSelector, {app: 'client', ...OPT_OUT})).toBe(false);
  });

  it('asks for CREATE only, of pods and the workload kinds the function injects, with v1 reviews and honest side effects', () => {
    expect(webhook.admissionReviewVersions).toEqual(['v1']);
    expect(webhook.sideEffects).toBe('NoneOnDryRun');
    expect(webhook.reinvocationPolicy).toBe('IfNeeded');
    expect(webhook.failurePolicy).toBe('Ignore');
    expect(webhook.timeoutSeconds).toBe(profile === 'knative' ? 20 : 5);
    for (const rule of webhook.rules) expect(rule.operations).toEqual(['CREATE']);
    const resources = webhook.rules.flatMap(r => r.apiGroups.flatMap(g => r.resources.map(res => `${g}/${r.apiVersions.join(',')}/${res}`))).sort();
    expect(resources).toEqual(
      ['/v1/pods', 'apps/v1/daemonsets', 'apps/v1/deployments', 'apps/v1/replicasets', 'apps/v1/statefulsets', 'batch/v1/cronjobs', 'batch/v1/jobs'].sort(),
    );
    // No caBundle in the manifests: cert-manager's CA injector owns it (a re-apply must not wipe it).
    expect(webhook.clientConfig.caBundle).toBeUndefined();
    expect(webhook.clientConfig.url).toBeUndefined();
  });

  it("the Service name, the webhook's clientConfig and the certificate's dnsNames agree", () => {
    const service = webhook.clientConfig.service;
    // The deployment profile's Service is the injector's own; the knative profile's is the bridge in
    // front of Traefik (manifests/components/knative-traefik), in Traefik's namespace.
    expect(service).toMatchObject({namespace: profile === 'knative' ? 'traefik' : 'nsm-sidecar-injector', name: 'nsm-sidecar-injector', path: '/mutate', port: 443});
    if (service === undefined) return;
    const serving = objects.filter(o => o.kind === 'Certificate' && (o.spec as {isCA?: boolean}).isCA !== true);
    expect(serving).toHaveLength(1);
    const certificate = serving[0] as KubeObject & {spec: {dnsNames: string[]; secretName: string}};
    expect(certificate.metadata.namespace).toBe('nsm-sidecar-injector');
    // The name the apiserver verifies is on the certificate; so are the injector's own in-cluster names.
    const own = ['nsm-sidecar-injector.nsm-sidecar-injector.svc', 'nsm-sidecar-injector.nsm-sidecar-injector.svc.cluster.local'];
    expect([...certificate.spec.dnsNames].sort()).toEqual([...new Set([...own, `${service.name}.${service.namespace}.svc`])].sort());
    // caBundle comes from the serving Certificate's CA, in both profiles.
    const annotation = only(objects, 'MutatingWebhookConfiguration').metadata.annotations?.['cert-manager.io/inject-ca-from'];
    expect(annotation).toBe(`${certificate.metadata.namespace}/${certificate.metadata.name}`);

    if (profile === 'knative') {
      const ksvc = only(objects, 'Service', 'serving.knative.dev/v1');
      expect(ksvc.metadata.labels?.['networking.knative.dev/visibility']).toBe('cluster-local');
      // The bridge: a ClusterIP Service (no DNS for the apiserver) at the webhook's name and port, to
      // Traefik's private TLS entrypoint by port name.
      const bridge = only(objects, 'Service', 'v1') as KubeObject & {spec: {type?: string; selector: Record<string, string>; ports: Array<{port: number; targetPort: string | number}>}};
      expect({name: bridge.metadata.name, namespace: bridge.metadata.namespace}).toEqual({name: service.name, namespace: service.namespace});
      expect(bridge.spec.type ?? 'ClusterIP').toBe('ClusterIP');
      expect(bridge.spec.selector).toEqual({'app.kubernetes.io/name': 'traefik'});
      expect(bridge.spec.ports.find(p => p.port === service.port)?.targetPort).toBe('tls-internal');
      // Traefik's route for that name: on that entrypoint, serving the certificate's Secret (from its
      // own namespace), through the body limit, to Knative's route for this Knative Service.
      const route = only(objects, 'IngressRoute', 'traefik.io/v1alpha1') as KubeObject & {
        spec: {entryPoints: string[]; routes: Array<{match: string; middlewares: Array<{name: string}>; services: Array<{kind: string; name: string}>}>; tls: {secretName: string}};
      };
      expect(route.metadata.namespace).toBe(certificate.metadata.namespace);
      expect(route.spec.entryPoints).toEqual(['tls-internal']);
      expect(route.spec.tls.secretName).toBe(certificate.spec.secretName);
      expect(route.spec.routes).toHaveLength(1);
      const rule = route.spec.routes[0];
      expect(rule?.match).toBe(`Host(\`${service.name}.${service.namespace}.svc\`) && Path(\`${service.path}\`)`);
      expect(rule?.services).toEqual([{kind: 'TraefikService', name: `${ksvc.metadata.namespace}-${ksvc.metadata.name}-rule-0-path-0-wrr@knative`}]);
      const limit = only(objects, 'Middleware', 'traefik.io/v1alpha1') as KubeObject & {spec: {buffering: {maxRequestBodyBytes: number; memRequestBodyBytes: number}}};
      expect(rule?.middlewares).toEqual([{name: limit.metadata.name}]);
      expect(limit.metadata.namespace).toBe(route.metadata.namespace);
      expect(limit.spec.buffering).toEqual({maxRequestBodyBytes: MAX_BODY_BYTES, memRequestBodyBytes: MAX_BODY_BYTES});
      // The route guard keeps that entrypoint and that Traefik service key ours: its strings name this
      // route's entrypoint and namespace, and this Knative Service's key; its binding denies.
      const guard = objects.find(o => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name === 'nsm-sidecar-injector-route-guard');
      const text = JSON.stringify(guard?.spec);
      expect(text).toContain(`'${route.spec.entryPoints[0]}'`);
      expect(text).toContain(`request.namespace != '${route.metadata.namespace}'`);
      expect(text).toContain(`'${ksvc.metadata.namespace}-${ksvc.metadata.name}'`);
      const binding = objects.find(o => o.kind === 'ValidatingAdmissionPolicyBinding' && (o.spec as {policyName?: string}).policyName === guard?.metadata.name);
      expect((binding?.spec as {validationActions?: string[]} | undefined)?.validationActions).toEqual(['Deny']);
    } else {
      const svc = only(objects, 'Service', 'v1') as KubeObject & {spec: {selector: Record<string, string>; ports: Array<{port: number; targetPort: string | number}>}};
      expect({name: svc.metadata.name, namespace: svc.metadata.namespace}).toEqual({name: service.name, namespace: service.namespace});
      const port = svc.spec.ports.find(p => p.port === service.port);
      expect(port).toBeDefined();
      // The Service selects the function's pods and sends port 443 to the container's https port.
      expect(selects({matchLabels: svc.spec.selector}, template.metadata?.labels ?? {})).toBe(true);
      const containerPort = containers.flatMap(c => c.ports ?? []).find(p => p.name === port?.targetPort || p.containerPort === port?.targetPort);
      expect(containerPort?.name).toBe('https');
      // The pods mount and serve the serving Certificate's Secret.
      const tlsVolume = template.spec.volumes?.find(v => v.secret?.secretName === certificate.spec.secretName);
      expect(tlsVolume).toBeDefined();
      const container = containers[0] as Container;
      const mount = container.volumeMounts?.find(m => m.name === tlsVolume?.name);
      expect(mount?.readOnly).toBe(true);
      expect(envOf(container, 'TLS_CERT_DIR')).toBe(mount?.mountPath);
      expect(envOf(container, 'PORT')).toBe(String(containerPort?.containerPort));
    }
  });

  it('the CA chain is self-contained: every issuerRef and CA secret resolves inside the render, the CA key is never rotated', () => {
    const issuers = objects.filter(o => o.kind === 'Issuer');
    const certificates = objects.filter(o => o.kind === 'Certificate') as Array<KubeObject & {spec: {isCA?: boolean; secretName: string; issuerRef: {name: string; kind?: string}; privateKey?: {rotationPolicy?: string}}}>;
    for (const c of certificates) {
      expect(c.spec.issuerRef.kind).toBe('Issuer');
      expect(issuers.map(i => `${i.metadata.namespace}/${i.metadata.name}`)).toContain(`${c.metadata.namespace}/${c.spec.issuerRef.name}`);
    }
    const ca = certificates.find(c => c.spec.isCA === true);
    expect(ca?.spec.privateKey?.rotationPolicy).toBe('Never');
    const caIssuer = issuers.find(i => (i.spec as {ca?: {secretName: string}}).ca !== undefined);
    expect((caIssuer?.spec as {ca: {secretName: string}}).ca.secretName).toBe(ca?.spec.secretName);
  });

  it('the image name is the one Skaffold builds, and Skaffold renders this profile', () => {
    expect(skaffold.build.artifacts).toHaveLength(1);
    const artifact = skaffold.build.artifacts[0];
    expect(artifact?.docker?.dockerfile).toBe('Dockerfile');
    expect(containers.map(c => c.image)).toEqual([artifact?.image]);
    expect(kustomizePathsFor(profile)).toEqual([`manifests/${profile}`]);
  });

  it('the ConfigMap is the bundled default config, byte for byte, mounted read-only where INJECTOR_CONFIG points', () => {
    const configMap = only(objects, 'ConfigMap') as KubeObject & {data: Record<string, string>};
    expect(configMap.metadata.namespace).toBe('nsm-sidecar-injector');
    expect(Object.keys(configMap.data)).toEqual(['config.yaml']);
    expect(configMap.data['config.yaml']).toBe(readFileSync('manifests/base/config.yaml', 'utf8'));
    const volume = template.spec.volumes?.find(v => v.configMap?.name === configMap.metadata.name);
    expect(volume).toBeDefined();
    const container = containers[0] as Container;
    const mount = container.volumeMounts?.find(m => m.name === volume?.name);
    expect(mount?.readOnly).toBe(true);
    expect(envOf(container, 'INJECTOR_CONFIG')).toBe(mount?.mountPath);
  });

  it('RBAC is least privilege: get on namespaces, bound to the ServiceAccount the function runs as', () => {
    expect((only(objects, 'ClusterRole') as KubeObject & {rules: unknown}).rules).toEqual([{apiGroups: [''], resources: ['namespaces'], verbs: ['get']}]);
    expect(objects.filter(o => o.kind === 'Role' || o.kind === 'RoleBinding')).toEqual([]);
    const binding = only(objects, 'ClusterRoleBinding') as KubeObject & {roleRef: {name: string}; subjects: Array<{kind: string; name: string; namespace: string}>};
    expect(binding.roleRef.name).toBe(only(objects, 'ClusterRole').metadata.name);
    const account = only(objects, 'ServiceAccount');
    expect(binding.subjects).toEqual([{kind: 'ServiceAccount', name: account.metadata.name, namespace: account.metadata.namespace}]);
    expect(template.spec.serviceAccountName).toBe(account.metadata.name);
  });

  it('the function runs under the restricted Pod Security level, with requests, limits and a readiness probe', () => {
    const pod = template.spec.securityContext ?? {};
    for (const c of containers) {
      const sc = {...pod, ...c.securityContext};
      expect(sc.runAsNonRoot).toBe(true);
      expect(sc.runAsUser).toBe(65532);
      expect(sc.allowPrivilegeEscalation).toBe(false);
      expect(sc.readOnlyRootFilesystem).toBe(true);
      expect(sc.capabilities).toEqual({drop: ['ALL']});
      expect(sc.seccompProfile).toEqual({type: 'RuntimeDefault'});
      expect(Object.keys(c.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(c.resources?.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(c.readinessProbe?.httpGet?.path).toMatch(/^\/(healthz|readyz)$/);
    }
  });

  if (profile === 'knative') {
    it('knative: scale to zero is explicit, the probe is the health route, and the gated entry point runs', () => {
      const annotations = template.metadata?.annotations ?? {};
      expect(annotations['autoscaling.knative.dev/min-scale']).toBe('0');
      expect(containers[0]?.readinessProbe?.httpGet?.path).toBe('/healthz');
      // The knative entry point (the function behind its request-size gate), not the image's CMD;
      // the build produces it (npm test builds first) and the image copies all of dist/.
      expect(containers[0]?.command).toEqual(['node', 'dist/functions/knative/main.js']);
      expect(existsSync('functions/knative/main.ts')).toBe(true);
      expect(existsSync('dist/functions/knative/main.js')).toBe(true);
    });
  } else {
    it('deployment: two replicas kept apart, a PDB over them, running the HTTPS entry point the build produces', () => {
      const deployment = only(objects, 'Deployment') as KubeObject & {spec: {replicas: number; selector: Selector}};
      expect(deployment.spec.replicas).toBe(2);
      expect(template.spec.affinity?.podAntiAffinity).toBeDefined();
      const pdb = only(objects, 'PodDisruptionBudget') as KubeObject & {spec: {minAvailable?: number; selector: Selector}};
      expect(pdb.spec.minAvailable).toBe(1);
      expect(selects(pdb.spec.selector, template.metadata?.labels ?? {})).toBe(true);
      expect(selects(deployment.spec.selector, template.metadata?.labels ?? {})).toBe(true);
      const command = containers[0]?.command ?? [];
      expect(command).toEqual(['node', 'dist/functions/https/main.js']);
      expect(existsSync('functions/https/main.ts')).toBe(true);
      expect(containers[0]?.readinessProbe?.httpGet?.scheme).toBe('HTTPS');
    });
  }
});

describe('skaffold.yaml', () => {
  // Not Skaffold itself (no binary here): its rule, from pkg/skaffold/schema/profiles.go, is that a
  // profile's empty field keeps the base's value, so only a patch can take the base's allow-list away.
  it('the deployment profile removes the Knative resourceSelector with a patch, not with an empty field', () => {
    expect(skaffold.resourceSelector?.allow?.map(a => a.groupKind)).toEqual(['Service.serving.knative.dev']);
    const deployment = skaffold.profiles.find(p => p.name === 'deployment');
    expect(deployment?.resourceSelector).toBeUndefined();
    expect(deployment?.patches).toEqual([{op: 'remove', path: '/resourceSelector'}]);
  });
});

describe('manifests/deployment-mtls (the mtls component on the deployment profile)', () => {
  const objects = renderPath('manifests/deployment-mtls');
  const id = (o: KubeObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const container = podTemplateOf(objects).spec.containers[0] as Container;
  const volumes = podTemplateOf(objects).spec.volumes as Array<{name: string; secret?: {secretName: string; items?: Array<{key: string; path: string}>}}>;
  type Cert = KubeObject & {spec: {isCA?: boolean; commonName?: string; secretName: string; usages?: string[]; issuerRef: {name: string}; privateKey?: {rotationPolicy?: string}}};
  const certificate = (name: string): Cert => objects.find(o => o.kind === 'Certificate' && o.metadata.name === name) as Cert;
  const clientCa = certificate('nsm-sidecar-injector-client-ca');
  const client = certificate('nsm-sidecar-injector-apiserver-client');

  it('every object carries the app.kubernetes.io/name and part-of labels, the component\'s own included', () => {
    const unlabelled = objects
      .filter(o => o.metadata.labels?.['app.kubernetes.io/name'] !== 'nsm-sidecar-injector' || o.metadata.labels['app.kubernetes.io/part-of'] !== 'networkservicemesh')
      .map(id);
    expect(unlabelled).toEqual([]);
    expect(objects.map(id)).toContain('Issuer/nsm-sidecar-injector/nsm-sidecar-injector-client-ca');
  });

  it('every rendered object validates against its schema', () => {
    const results = validateWithModels(objects);
    expect(results).toHaveLength(objects.length);
    expect(results.filter(r => r.error !== null)).toEqual([]);
  });

  it('is the deployment profile plus the client CA, its Issuer and the client certificate; only the Deployment changes', () => {
    const plain = new Map(rendered.deployment.map(o => [id(o), o]));
    const added = objects.filter(o => !plain.has(id(o))).map(id).sort();
    expect(added).toEqual(['Certificate/nsm-sidecar-injector/nsm-sidecar-injector-apiserver-client', 'Certificate/nsm-sidecar-injector/nsm-sidecar-injector-client-ca', 'Issuer/nsm-sidecar-injector/nsm-sidecar-injector-client-ca']);
    const changed = objects.filter(o => plain.has(id(o)) && JSON.stringify(o) !== JSON.stringify(plain.get(id(o)))).map(id);
    expect(changed).toEqual(['Deployment/nsm-sidecar-injector/nsm-sidecar-injector']);
    // Off by default: the plain profile asks for no client certificate.
    expect(envOf(podTemplateOf(rendered.deployment).spec.containers[0] as Container, 'CLIENT_CA_FILE')).toBeUndefined();
  });

  it('a CA of its own signs a client-auth-only certificate whose name is the one the function allows', () => {
    expect(clientCa.spec.isCA).toBe(true);
    expect(clientCa.spec.privateKey?.rotationPolicy).toBe('Never');
    const serving = rendered.deployment.find(o => o.kind === 'Certificate' && (o.spec as {isCA?: boolean}).isCA === true) as Cert;
    expect(clientCa.spec.secretName).not.toBe(serving.spec.secretName);
    const issuer = objects.find(o => o.kind === 'Issuer' && o.metadata.name === client.spec.issuerRef.name);
    expect((issuer?.spec as {ca?: {secretName: string}}).ca?.secretName).toBe(clientCa.spec.secretName);
    expect(client.spec.usages).toContain('client auth');
    expect(client.spec.usages).not.toContain('server auth');
    expect(envOf(container, 'CLIENT_ALLOWED_NAMES')?.split(',')).toContain(client.spec.commonName);
  });

  it("the function reads the client CA's ca.crt from a read-only mount, and never gets the CA key", () => {
    const volume = volumes.find(v => v.secret?.secretName === clientCa.spec.secretName);
    expect(volume?.secret?.items).toEqual([{key: 'ca.crt', path: 'ca.crt'}]);
    const mount = container.volumeMounts?.find(m => m.name === volume?.name);
    expect(mount?.readOnly).toBe(true);
    expect(envOf(container, 'CLIENT_CA_FILE')).toBe(`${mount?.mountPath}/ca.crt`);
  });

  it("the kubelet's probes stay on paths answered without a client certificate", () => {
    for (const probe of [container.readinessProbe, container.livenessProbe]) expect(isProbe('GET', probe?.httpGet?.path ?? '')).toBe(true);
    expect(isProbe('POST', '/mutate')).toBe(false);
  });

  it("the apiserver files: the AdmissionConfiguration names the kubeconfig, whose one user is the webhook's Service, with the client certificate as files", () => {
    const dir = 'manifests/components/mtls/apiserver';
    const admission = parse(readFileSync(`${dir}/admission-configuration.yaml`, 'utf8')) as {kind: string; plugins: Array<{name: string; configuration: {kind: string; kubeConfigFile: string}}>};
    expect(admission.kind).toBe('AdmissionConfiguration');
    expect(admission.plugins.map(p => [p.name, p.configuration.kind])).toEqual([['MutatingAdmissionWebhook', 'WebhookAdmissionConfiguration']]);
    const kubeConfigFile = admission.plugins[0]?.configuration.kubeConfigFile ?? '';
    expect(kubeConfigFile.endsWith('/webhook-kubeconfig.yaml')).toBe(true);
    const nodeDir = kubeConfigFile.slice(0, kubeConfigFile.lastIndexOf('/'));

    const kubeconfig = parse(readFileSync(`${dir}/webhook-kubeconfig.yaml`, 'utf8')) as {'current-context'?: string; users: Array<{name: string; user: Record<string, string>}>};
    const service = webhookOf(objects).clientConfig.service;
    expect(service?.port).toBe(443); // another port would need `name:port` as the user's name
    // No `*` user and no current-context: either would hand the certificate to every webhook.
    expect(kubeconfig['current-context']).toBeUndefined();
    expect(kubeconfig.users).toEqual([
      {name: `${service?.name}.${service?.namespace}.svc`, user: {'client-certificate': `${nodeDir}/tls.crt`, 'client-key': `${nodeDir}/tls.key`}},
    ]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const instructions = dockerfile.split('\n').filter(l => /^[A-Z]+\s/.test(l));
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('starts the function with the functions-framework CLI, as `npm start` does', () => {
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as {scripts: {start: string}}).scripts.start;
    const cmd = instructions.find(l => l.startsWith('CMD '));
    const argv = JSON.parse(cmd?.slice(4) ?? '[]') as string[];
    expect(argv.join(' ')).toBe(start.replace(/^functions-framework/, 'node_modules/.bin/functions-framework'));
  });

  it('runs as a numeric non-root user with production dependencies, the build output and the bundled config', () => {
    expect(runtime).toMatch(/^USER 65532(:65532)?$/m);
    expect(runtime).toMatch(/^ENV NODE_ENV=production$/m);
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^COPY manifests\/base\/config\.yaml \.\/manifests\/base\/config\.yaml$/m);
    expect(instructions.filter(l => l.startsWith('FROM ')).length).toBeGreaterThanOrEqual(2);
  });

  it('.dockerignore keeps every file the Dockerfile copies in the build context', () => {
    // The .dockerignore here is "exclude everything, then re-include": a path is in the context when
    // the last pattern matching it (or a folder above it) is a `!` exception.
    const patterns = readFileSync('.dockerignore', 'utf8').split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'));
    const matches = (pattern: string, path: string): boolean => pattern === '*' || path === pattern || path.startsWith(`${pattern}/`);
    const included = (path: string): boolean => {
      let verdict = true;
      for (const p of patterns) if (matches(p.replace(/^!/, ''), path)) verdict = p.startsWith('!');
      return verdict;
    };
    const sources = instructions.filter(l => l.startsWith('COPY ') && !l.includes('--from=')).flatMap(l => l.split(/\s+/).slice(1, -1));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'functions', 'manifests/base/config.yaml']));
    for (const source of sources) expect([source, existsSync(source) && included(source)]).toEqual([source, true]);
    expect(included('test/https.test.ts')).toBe(false);
    expect(included('node_modules/yaml/package.json')).toBe(false);
  });
});
