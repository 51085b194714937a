/**
 * The pod-level mutation: given a checked pod template and a config, build the injected template.
 *
 * Pure and non-destructive: the input is never modified; the result shares the user's untouched
 * sub-objects and appends copies of what the config describes. Order is kept exactly: the user's
 * containers, init containers, volumes, labels and annotations stay where they were.
 */
import type {Container, EnvVar, ResourceRequirements, Volume, VolumeMount} from 'kubernetes-types/core/v1';
import type {ContainerTemplate, EnvTemplate, PodSecurityLevel, VersionedConfig} from './config';
import type {InjectedNames} from './decision';
import {copyJson, type JsonObject} from './json';
import {imageRepository, uniqueName} from './names';
import type {PodTemplateView} from './pod-template';
import {encodeStatus} from './status';

/** What the injector knows about this admission that the config can refer to. */
export interface PodInjectionContext {
  /** The trigger annotation's value, unchanged. */
  readonly networkServices: string;
  /** Value for env entries that ask for `nsmName`. */
  readonly nsmName: string;
  /** The namespace's Pod Security level: picks volumes and security context. */
  readonly podSecurityLevel: PodSecurityLevel;
  /** Extended resources the injected init containers request, from SR-IOV tokens. */
  readonly sriovPools: ReadonlyMap<string, number>;
}

export interface PodInjection {
  readonly template: JsonObject;
  readonly injected: InjectedNames;
  readonly warnings: string[];
}

/** Why this template counts as injected already by its containers, or undefined if it does not. */
export function ourContainersPresent(view: PodTemplateView, versioned: VersionedConfig): string | undefined {
  const {config} = versioned;
  // The status annotation is checked by the caller; here we recognise our containers without it:
  // a pod injected by NSM's own webhook, or by hand, must not get a second copy.
  const ours = [...config.initContainers, ...config.sidecars];
  for (const existing of [...view.initContainers, ...view.containers]) {
    const match = ours.find(
      t => t.name === existing.name && typeof existing.image === 'string' && imageRepository(existing.image) === imageRepository(t.image),
    );
    if (match) return `already injected (container ${existing.name} runs ${imageRepository(match.image)})`;
  }
  return undefined;
}

function resolveEnv(entry: EnvTemplate, ctx: PodInjectionContext): EnvVar {
  if ('injectorValue' in entry) {
    return {name: entry.name, value: entry.injectorValue === 'networkServices' ? ctx.networkServices : ctx.nsmName};
  }
  return copyJson(entry);
}

/** The template's resources plus `extra` extended resources in both requests and limits (never instead of them). */
function withExtendedResources(base: ResourceRequirements | undefined, extra: ReadonlyMap<string, number>): ResourceRequirements | undefined {
  if (extra.size === 0) return base === undefined ? undefined : copyJson(base);
  const counts = Object.fromEntries([...extra].map(([pool, n]) => [pool, String(n)]));
  return {...copyJson(base), requests: {...base?.requests, ...counts}, limits: {...base?.limits, ...counts}};
}

/** Appends `added` to the list at `key`, without creating an empty list that wasn't there. */
function withList(spec: JsonObject, key: string, existing: readonly unknown[], added: readonly unknown[]): JsonObject {
  if (added.length === 0) return spec;
  return {...spec, [key]: [...existing, ...added]};
}

export function injectPodTemplate(view: PodTemplateView, ctx: PodInjectionContext, versioned: VersionedConfig): PodInjection {
  const {config} = versioned;
  const warnings: string[] = [];
  const profile = config.podSecurity[ctx.podSecurityLevel];

  // Volumes first: a collision renames ours, and our mounts must follow the rename.
  const volumeNames = new Set(view.volumes.map(v => v.name));
  const volumeRename = new Map<string, string>();
  const volumes: Volume[] = (profile?.volumes ?? config.volumes).map(v => {
    const name = uniqueName(v.name, volumeNames);
    if (name !== v.name) warnings.push(`the pod already has a volume named "${v.name}"; the injected one is named "${name}"`);
    volumeNames.add(name);
    volumeRename.set(v.name, name);
    return {...copyJson(v), name};
  });

  const containerNames = new Set([...view.initContainers, ...view.containers].map(c => c.name));
  const build = (t: ContainerTemplate, extraResources: ReadonlyMap<string, number>): Container => {
    const name = uniqueName(t.name, containerNames);
    if (name !== t.name) warnings.push(`the pod already has a container named "${t.name}"; the injected one is named "${name}"`);
    containerNames.add(name);
    const mounts: VolumeMount[] = [...config.volumeMounts, ...(t.volumeMounts ?? [])].map(m => ({
      ...m,
      name: volumeRename.get(m.name) ?? m.name,
    }));
    const container: Container = {name, image: t.image};
    if (t.imagePullPolicy !== undefined) container.imagePullPolicy = t.imagePullPolicy;
    if (t.command !== undefined) container.command = [...t.command];
    if (t.args !== undefined) container.args = [...t.args];
    const env = [...config.env, ...(t.env ?? [])].map(e => resolveEnv(e, ctx));
    if (env.length > 0) container.env = env;
    const resources = withExtendedResources(t.resources, extraResources);
    if (resources !== undefined) container.resources = resources;
    if (mounts.length > 0) container.volumeMounts = mounts;
    const securityContext = t.securityContext === undefined && profile?.securityContext === undefined ? undefined : {...t.securityContext, ...profile?.securityContext};
    if (securityContext !== undefined) container.securityContext = copyJson(securityContext);
    return container;
  };
  // As in NSM, SR-IOV pools go to the init containers, which set the interfaces up.
  const initContainers = config.initContainers.map(t => build(t, ctx.sriovPools));
  const sidecars = config.sidecars.map(t => build(t, new Map()));
  // Native sidecars (KEP-753) are init containers that keep running; they start right after ours.
  const addedInit = config.nativeSidecars ? [...initContainers, ...sidecars.map(c => ({...c, restartPolicy: 'Always'}))] : initContainers;
  const addedContainers = config.nativeSidecars ? [] : sidecars;

  const injected: InjectedNames = {
    initContainers: addedInit.map(c => c.name),
    containers: addedContainers.map(c => c.name),
    volumes: volumes.map(v => v.name),
  };

  const addedLabels: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.podLabels)) {
    const current = view.labels[key];
    if (current === undefined) addedLabels[key] = value;
    else if (current !== value) warnings.push(`label ${key} is already "${current}"; left as is (the injector would set "${value}")`);
  }
  // Ours, unlike podLabels: it must name the config that injected this pod, or the selector for
  // pods still on an older injection (docs/operations.md) would miss it.
  const hashLabel = config.configHashLabel;
  const previous = view.labels[hashLabel];
  if (previous !== undefined && previous !== versioned.hash) {
    warnings.push(`label ${hashLabel} was "${previous.slice(0, 63)}"; set to "${versioned.hash}", the config that injected this pod`);
  }
  const metadata: JsonObject = {
    ...view.metadata,
    labels: {...view.labels, ...addedLabels, [hashLabel]: versioned.hash},
    annotations: {...view.annotations, [config.statusAnnotation]: encodeStatus(versioned.hash, injected)},
  };

  let spec = view.spec;
  spec = withList(spec, 'initContainers', view.initContainers, addedInit);
  spec = withList(spec, 'containers', view.containers, addedContainers);
  spec = withList(spec, 'volumes', view.volumes, volumes);

  return {template: {...view.raw, metadata, spec}, injected, warnings};
}
