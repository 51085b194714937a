/**
 * The whole pure core: an object (a Pod, or a workload with a pod template) and a config in,
 * the injected object, the decision and warnings out. No clock, environment, logging or I/O:
 * the webhook and the `nsm-inject` CLI both call this and nothing else to decide.
 */
import type {VersionedConfig, WorkloadMode} from './config';
import {skipped, type Decision, type RequestSource} from './decision';
import {ourContainersPresent, injectPodTemplate} from './inject-pod';
import {isObject, own, type JsonObject} from './json';
import {injectableKind, KIND_INFO, type GroupKind, type InjectableKind} from './kinds';
import {stableSuffix} from './names';
import {podSecurityLevel, type NamespaceMeta} from './namespace';
import {checkPodTemplate, type PodTemplateView} from './pod-template';
import {sriovPools} from './sriov';

export interface InjectionInput {
  readonly kind: GroupKind;
  readonly object: unknown;
  /**
   * Makes generated values (the NSM_NAME suffix) deterministic: the admission request uid in the
   * webhook, the object's identity in the CLI.
   */
  readonly seed: string;
  /**
   * The object's Namespace, if known: a Pod without its own annotation inherits the namespace's,
   * and the namespace's Pod Security level shapes what is injected. Unknown: no inheritance, the
   * config's podSecurityDefault level (the caller warns if it should have been known).
   */
  readonly namespace?: NamespaceMeta | undefined;
  /**
   * What to do with a workload, in place of the config's `workloads`: the CLI forces
   * `inject-template` (it writes what runs); the webhook follows the config.
   */
  readonly workloads?: WorkloadMode | undefined;
}

export interface InjectionResult {
  /** The changed object, or the input itself (same reference) when nothing was changed. */
  readonly object: unknown;
  readonly decision: Decision;
  readonly warnings: string[];
}

const unchanged = (input: InjectionInput, decision: Decision, warnings: string[] = []): InjectionResult => ({
  object: input.object,
  decision,
  warnings,
});

function getAt(obj: JsonObject, path: readonly string[]): unknown {
  let node: unknown = obj;
  for (const key of path) node = isObject(node) ? own(node, key) : undefined;
  return node;
}

/** A copy of `obj` with `value` at `path`, copying only the objects along the path. */
function setAt(obj: JsonObject, path: readonly string[], value: JsonObject): JsonObject {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const child = own(obj, head);
  return {...obj, [head]: setAt(isObject(child) ? child : {}, rest, value)};
}

function ownedByDeployment(metadata: JsonObject): boolean {
  const refs = own(metadata, 'ownerReferences');
  return Array.isArray(refs) && refs.some(ref => isObject(ref) && own(ref, 'kind') === 'Deployment');
}

/** An annotation as found on an object: absent, present but not a string, or its value. */
type Found = {readonly kind: 'absent'} | {readonly kind: 'not-a-string'} | {readonly kind: 'value'; readonly value: string};
const ABSENT = {kind: 'absent'} as const;

function annotationOf(metadata: unknown, key: string): Found {
  if (!isObject(metadata)) return ABSENT;
  const annotations = own(metadata, 'annotations');
  if (!isObject(annotations)) return ABSENT;
  const value = own(annotations, key);
  if (value === undefined) return ABSENT;
  return typeof value === 'string' ? {kind: 'value', value} : {kind: 'not-a-string'};
}

/** The request for injection: none, a malformed one, or a value and where it came from. */
type Request = {readonly kind: 'absent'} | {readonly kind: 'not-a-string'} | {readonly kind: 'value'; readonly value: string; readonly source: RequestSource};

/**
 * Which annotation asks for injection, in order of precedence: the pod template's own; for a
 * workload, the workload's; for a Pod (never a template: a workload in an annotated namespace is
 * injected once, when its pods are created), the namespace's. Present on the object, even empty,
 * means the object decided: an empty value opts a pod out of its namespace's request.
 * For pods, scripts/admission-policy.ts mirrors these rules in CEL (the admission policy);
 * test/admission-policy.test.ts and its e2e twin fail when the two disagree.
 */
function requestOf(templateMetadata: unknown, metadata: JsonObject, isPod: boolean, namespace: NamespaceMeta | undefined, key: string): Request {
  const fromTemplate = annotationOf(templateMetadata, key);
  if (fromTemplate.kind === 'value') return {...fromTemplate, source: isPod ? 'pod' : 'template'};
  if (fromTemplate.kind === 'not-a-string') return fromTemplate;
  if (!isPod) {
    const fromWorkload = annotationOf(metadata, key);
    if (fromWorkload.kind !== 'value') return fromWorkload;
    return {...fromWorkload, source: 'workload'};
  }
  const fromNamespace = namespace?.annotations[key];
  return fromNamespace === undefined ? ABSENT : {kind: 'value', value: fromNamespace, source: 'namespace'};
}

/**
 * Pod authors are not trusted with what is injected: the image, volumes, privileges and mounts
 * come from the cluster's config only. Annotations that look like per-pod settings of ours (our
 * status annotation's prefix) are therefore ignored, and said to be, so nobody believes they work.
 */
const MAX_IGNORED_NAMED = 3;

function ignoredSettings(metadatas: readonly unknown[], statusAnnotation: string): string[] {
  const slash = statusAnnotation.indexOf('/');
  if (slash === -1) return [];
  const prefix = statusAnnotation.slice(0, slash + 1);
  const keys = new Set<string>();
  for (const metadata of metadatas) {
    const annotations = isObject(metadata) ? own(metadata, 'annotations') : undefined;
    if (!isObject(annotations)) continue;
    for (const key of Object.keys(annotations)) if (key.startsWith(prefix) && key !== statusAnnotation) keys.add(key);
  }
  // A few named are enough to make the point; a pod with thousands must not flood the answer.
  const named = [...keys].slice(0, MAX_IGNORED_NAMED).map(key => `annotation ${JSON.stringify(key).slice(0, 120)} is ignored: what is injected is set by the injector's config only`);
  return keys.size > MAX_IGNORED_NAMED ? [...named, `${keys.size - MAX_IGNORED_NAMED} more annotations with the prefix ${prefix} are ignored too`] : named;
}

/**
 * NSM's NSM_NAME: `$(POD_NAME)` for pods named by generateName (already unique), otherwise
 * `$(POD_NAME)-<suffix>`. NSM draws a random uuid; we derive the suffix from the seed so that one
 * request always gives one answer (reinvocation and retries agree, golden files are stable).
 */
function nsmName(metadata: JsonObject, seed: string): string {
  const generateName = own(metadata, 'generateName');
  return typeof generateName === 'string' && generateName !== '' ? '$(POD_NAME)' : `$(POD_NAME)-${stableSuffix(seed)}`;
}

const WHERE: Readonly<Record<RequestSource, string>> = {pod: 'pod', template: 'pod template', workload: 'workload', namespace: 'namespace'};

/** An empty value opts out on purpose; blanks only are read the same way, but are likely a slip: say so. */
function blankRequestWarnings(request: Request, key: string): string[] {
  if (request.kind !== 'value' || request.value === '' || request.value.trim() !== '') return [];
  return [`annotation ${key} on the ${WHERE[request.source]} holds only blanks: treated as not requested, nothing injected`];
}

/**
 * `workloads: pods`: the workload keeps its containers, and its pods are injected when they are
 * created. A request on the workload's own metadata (NSM's convention) is copied into its pod
 * template, the one change we make, so that its pods ask for themselves.
 */
function deferToPods(located: {object: JsonObject; path: readonly string[]; view: PodTemplateView}, request: {value: string; source: RequestSource}, key: string, warnings: string[]): InjectionResult {
  const {object, path, view} = located;
  if (request.source !== 'workload') return {object, decision: {outcome: 'deferred', requestedBy: 'template'}, warnings};
  const metadata = {...view.metadata, annotations: {...view.annotations, [key]: request.value}};
  return {object: setAt(object, path, {...view.raw, metadata}), decision: {outcome: 'deferred', requestedBy: 'workload'}, warnings};
}

/** The object, its metadata and its pod template, or why there is nothing to look at. */
type Located =
  | {ok: true; kind: InjectableKind; object: JsonObject; metadata: JsonObject; path: readonly string[]; template: unknown}
  | {ok: false; result: InjectionResult};

function locate(input: InjectionInput): Located {
  const kind = injectableKind(input.kind);
  if (kind === undefined) return {ok: false, result: unchanged(input, skipped('unsupported-kind'))};
  const {object} = input;
  if (!isObject(object)) return {ok: false, result: unchanged(input, skipped('invalid-object'), ['the object is not a JSON object; nothing injected'])};
  const metadata = own(object, 'metadata') ?? {};
  if (!isObject(metadata)) return {ok: false, result: unchanged(input, skipped('invalid-object'), ['metadata is not an object; nothing injected'])};
  const path = KIND_INFO[kind].templatePath;
  return {ok: true, kind, object, metadata, path, template: path.length === 0 ? object : getAt(object, path)};
}

/**
 * The decision rules, in order; the first that applies decides:
 *  1. not a kind we handle, or not shaped like an object: skipped (`unsupported-kind`, `invalid-object`);
 *  2. the pod (template) carries our status annotation: `already-injected`;
 *  3. the request (requestOf: the template's annotation, else the workload's, else for a Pod the
 *     namespace's) is absent, empty or blank: `not-requested` (blank: with a warning);
 *  4. a ReplicaSet owned by a Deployment: `owned-by-deployment` (its template must stay equal to
 *     the Deployment's, or the Deployment controller loses track of it);
 *  5. the template is malformed: `invalid-object`; it already runs our containers (NSM's own
 *     webhook, or by hand): `already-injected`;
 *  6. a workload, with `workloads: pods` (the default; the CLI forces `inject-template`):
 *     `deferred`, the workload keeps its containers and a request on its own metadata is copied
 *     into its pod template;
 *  7. otherwise `injected`: the Pod, or the workload's pod template.
 */
export function injectObject(input: InjectionInput, versioned: VersionedConfig): InjectionResult {
  const {config} = versioned;
  const located = locate(input);
  if (!located.ok) return located.result;
  const {kind, object, metadata, path, template} = located;
  const isPod = path.length === 0;

  const templateMetadata = isObject(template) ? own(template, 'metadata') : undefined;
  // Checked before the request: a pod created from an injected template carries our mark, and
  // must not be injected again even if it also inherits a request from elsewhere. No warning: this is
  // the normal path of every reinvocation (the apiserver calls us again after the ServiceAccount
  // plugin mounts its token into our containers) and of every pod of an injected workload.
  if (annotationOf(templateMetadata, config.statusAnnotation).kind !== 'absent') return unchanged(input, skipped('already-injected'));

  const request = requestOf(templateMetadata, metadata, isPod, input.namespace, config.annotation);
  if (request.kind === 'not-a-string') {
    return unchanged(input, skipped('invalid-object'), [`annotation ${config.annotation} is not a string; nothing injected`]);
  }
  if (request.kind === 'absent' || request.value.trim() === '') {
    return unchanged(input, skipped('not-requested'), blankRequestWarnings(request, config.annotation));
  }

  if (kind === 'ReplicaSet' && ownedByDeployment(metadata)) {
    return unchanged(input, skipped('owned-by-deployment'), [
      'ReplicaSet is owned by a Deployment: its template is left alone (its pods are injected when they are created)',
    ]);
  }

  const view = checkPodTemplate(template, path.join('.'));
  if (!view.ok) return unchanged(input, skipped('invalid-object'), [`${view.problem}; nothing injected`]);
  const already = ourContainersPresent(view.value, versioned);
  if (already !== undefined) return unchanged(input, skipped('already-injected'), [already]);

  // Said for workloads too: the pods their controllers create get warnings nobody reads.
  const ignored = ignoredSettings([templateMetadata, isPod ? undefined : metadata], config.statusAnnotation);
  const sriov = sriovPools(request.value, config.sriovTokenLabel, config.sriovAllowedPools);
  if (!isPod && (input.workloads ?? config.workloads) === 'pods') {
    return deferToPods({object, path, view: view.value}, request, config.annotation, [...ignored, ...sriov.warnings]);
  }
  const result = injectPodTemplate(
    view.value,
    {
      networkServices: request.value,
      nsmName: nsmName(view.value.metadata, input.seed),
      podSecurityLevel: podSecurityLevel(input.namespace, config.podSecurityDefault),
      sriovPools: sriov.pools,
    },
    versioned,
  );
  return {
    object: setAt(object, path, result.template),
    decision: {outcome: 'injected', injected: result.injected, requestedBy: request.source},
    warnings: [...ignored, ...sriov.warnings, ...result.warnings],
  };
}
