/**
 * A drop-in for NSM's own webhook: its settings, from the environment, read the way NSM v1.18.0's
 * cmd-admission-webhook-k8s reads them (internal/config/config.go through kelseyhightower/envconfig
 * v1.4.0, and the mutation in its main.go), turned into a config of ours. The function uses this
 * when any of them is set and INJECTOR_CONFIG is not (runtime.ts); docs/migrating-from-nsm.md says
 * what a migration changes.
 *
 * NSM's reading, reproduced with its quirks:
 *  - an unset variable takes NSM's default; one set to the empty string is empty (envconfig);
 *  - lists split on `,` and maps on `,` then `:`, with no trimming; a map item without exactly one
 *    `:` is an error (NSM refuses to start);
 *  - an NSM_ENVS entry is cut on `=`: the name is what comes before the first, the value what comes
 *    between the first and a second (`A=b=c` gives `b`). An entry without `=` makes NSM panic
 *    (index out of range) and restart for ever: here the settings are refused instead, with the
 *    entry named, and the function reports no valid config (503, not ready) until it is fixed;
 *  - a container's name is the image's last path element up to its first `:`
 *    (`ghcr.io/networkservicemesh/cmd-nsc:v1.18.0` -> `cmd-nsc`; a digest reference gives a name the
 *    apiserver refuses, which is refused here instead);
 *  - the env of every container: NSM_ENVS, then SPIFFE_ENDPOINT_SOCKET, POD_NAME, the network
 *    services (named by NSM_NSURL_ENV_NAME) and NSM_NAME; requests and limits from
 *    NSM_SIDECAR_*, on the init containers and the containers alike.
 * What NSM hard-codes (the two hostPath volumes and their read-only mounts, the `sriovToken` label)
 * equals the bundled default's, which supplies it along with everything NSM has no setting for
 * (status annotation, config-hash label, `workloads`, Pod Security profiles).
 */
import type {ContainerTemplate, EnvTemplate, InjectorConfig, VersionedConfig} from '../core/config';
import {checkConfig, parseConfig} from './parse';

/** NSM's settings that shape what it injects, in the order of its config struct. */
export const NSM_INJECTION_SETTINGS = [
  'NSM_ANNOTATION',
  'NSM_LABELS',
  'NSM_NSURL_ENV_NAME',
  'NSM_INIT_CONTAINER_IMAGES',
  'NSM_CONTAINER_IMAGES',
  'NSM_ENVS',
  'NSM_SIDECAR_LIMITS_MEMORY',
  'NSM_SIDECAR_LIMITS_CPU',
  'NSM_SIDECAR_REQUESTS_MEMORY',
  'NSM_SIDECAR_REQUESTS_CPU',
] as const;
export type NsmSetting = (typeof NSM_INJECTION_SETTINGS)[number];

/** NSM's defaults (the struct tags of its Config); the lists and the map default to empty. */
const NSM_DEFAULTS: Partial<Record<NsmSetting, string>> = {
  NSM_ANNOTATION: 'networkservicemesh.io',
  NSM_NSURL_ENV_NAME: 'NSM_NETWORK_SERVICES',
  NSM_SIDECAR_LIMITS_MEMORY: '80Mi',
  NSM_SIDECAR_LIMITS_CPU: '200m',
  NSM_SIDECAR_REQUESTS_MEMORY: '40Mi',
  NSM_SIDECAR_REQUESTS_CPU: '100m',
};

export type Env = Readonly<Record<string, string | undefined>>;

/** Which of NSM's injection settings the environment sets (set to the empty string counts, as in envconfig). */
export function nsmSettingsIn(env: Env): NsmSetting[] {
  return NSM_INJECTION_SETTINGS.filter(name => env[name] !== undefined);
}

/** envconfig's string: the default only when unset. */
const text = (env: Env, name: NsmSetting): string => env[name] ?? NSM_DEFAULTS[name] ?? '';
/** envconfig's slice: nothing for a blank value, else every `,`-separated item as it is. */
const list = (env: Env, name: NsmSetting): string[] => (text(env, name).trim() === '' ? [] : text(env, name).split(','));

/** Go's path.Base. */
function pathBase(path: string): string {
  if (path === '') return '.';
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** NSM's nameOf: the container name it gives an image. */
export function nsmContainerName(image: string): string {
  return pathBase(image).split(':')[0] ?? '';
}

// Kubernetes' quantity syntax (resource.ParseQuantity): a number, then a binary or decimal suffix or an exponent.
const QUANTITY = /^\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface Read {
  readonly errors: string[];
  readonly notes: string[];
}

function readLabels(env: Env, read: Read): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of list(env, 'NSM_LABELS')) {
    const kv = pair.split(':');
    if (kv.length !== 2) read.errors.push(`NSM_LABELS: item ${JSON.stringify(pair)} is not KEY:VALUE (NSM refuses it too: "invalid map item")`);
    else Object.defineProperty(labels, kv[0]!, {value: kv[1], enumerable: true, writable: true, configurable: true});
  }
  return labels;
}

function readEnvs(env: Env, read: Read): EnvTemplate[] {
  return list(env, 'NSM_ENVS').flatMap(entry => {
    const parts = entry.split('=');
    const [name, value] = parts;
    if (name === undefined || value === undefined) {
      read.errors.push(`NSM_ENVS: entry ${JSON.stringify(entry)} has no "=" (NSM's webhook panics on it); write NAME=VALUE`);
      return [];
    }
    if (name === '') read.errors.push(`NSM_ENVS: entry ${JSON.stringify(entry)} has an empty name`);
    if (parts.length > 2) read.notes.push(`NSM_ENVS: entry for ${JSON.stringify(name)} holds more than one "="; its value is cut to ${JSON.stringify(value)}, as NSM does`);
    return [{name, value}];
  });
}

function readQuantity(env: Env, name: NsmSetting, read: Read): string {
  const value = text(env, name);
  if (!QUANTITY.test(value)) read.errors.push(`${name}: ${JSON.stringify(value)} is not a Kubernetes quantity such as 200m or 80Mi`);
  return value;
}

function readImages(env: Env, name: NsmSetting, read: Read): Array<{image: string; name: string}> {
  return list(env, name).map((image, i) => {
    const container = nsmContainerName(image);
    if (image === '') read.errors.push(`${name}: item ${i + 1} is empty`);
    else if (!DNS_LABEL.test(container) || container.length > 63) {
      read.errors.push(`${name}: NSM names the container for ${JSON.stringify(image)} ${JSON.stringify(container)}, which the apiserver would refuse (use a tag, not a digest, and a lowercase name)`);
    }
    return {image, name: container};
  });
}

/** NSM's settings as our config, on top of the bundled default (see the file comment). */
function fromSettings(env: Env, base: InjectorConfig, read: Read): InjectorConfig {
  const annotation = text(env, 'NSM_ANNOTATION');
  const servicesEnv = text(env, 'NSM_NSURL_ENV_NAME');
  if (annotation === '') read.errors.push('NSM_ANNOTATION is empty');
  if (servicesEnv === '') read.errors.push('NSM_NSURL_ENV_NAME is empty');
  const resources = {
    requests: {cpu: readQuantity(env, 'NSM_SIDECAR_REQUESTS_CPU', read), memory: readQuantity(env, 'NSM_SIDECAR_REQUESTS_MEMORY', read)},
    limits: {cpu: readQuantity(env, 'NSM_SIDECAR_LIMITS_CPU', read), memory: readQuantity(env, 'NSM_SIDECAR_LIMITS_MEMORY', read)},
  };
  const container = ({image, name}: {image: string; name: string}): ContainerTemplate => ({
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    resources: {requests: {...resources.requests}, limits: {...resources.limits}},
  });
  const initContainers = readImages(env, 'NSM_INIT_CONTAINER_IMAGES', read).map(container);
  const sidecars = readImages(env, 'NSM_CONTAINER_IMAGES', read).map(container);
  if (initContainers.length + sidecars.length === 0) read.errors.push('neither NSM_INIT_CONTAINER_IMAGES nor NSM_CONTAINER_IMAGES names an image: nothing to inject');
  return {
    ...base,
    annotation,
    podLabels: readLabels(env, read),
    env: [
      ...readEnvs(env, read),
      {name: 'SPIFFE_ENDPOINT_SOCKET', value: 'unix:///run/spire/sockets/agent.sock'},
      {name: 'POD_NAME', valueFrom: {fieldRef: {fieldPath: 'metadata.name'}}},
      {name: servicesEnv, injectorValue: 'networkServices'},
      {name: 'NSM_NAME', injectorValue: 'nsmName'},
    ],
    initContainers,
    sidecars,
  };
}

export type NsmConfig = {ok: true; value: VersionedConfig; settings: NsmSetting[]; notes: string[]} | {ok: false; errors: string[]};

/** The config NSM's settings in `env` describe, on top of the bundled default config's text. */
export function configFromNsmEnv(baseText: string, env: Env): NsmConfig {
  const base = parseConfig(baseText);
  if (!base.ok) return {ok: false, errors: base.errors.map(e => `bundled default config: ${e}`)};
  const read: Read = {errors: [], notes: []};
  const config = fromSettings(env, base.value.config, read);
  if (read.errors.length > 0) return {ok: false, errors: read.errors};
  // A fresh copy for the validator, which fills defaults in place.
  const checked = checkConfig(JSON.parse(JSON.stringify(config)));
  if (!checked.ok) return {ok: false, errors: checked.errors.map(e => `the config NSM's settings describe: ${e}`)};
  return {ok: true, value: checked.value, settings: nsmSettingsIn(env), notes: read.notes};
}
