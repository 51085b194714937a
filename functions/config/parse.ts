/**
 * Config text -> a validated, versioned config, or the list of problems naming each field.
 * Pure apart from hashing: no file reads (see source.ts), so tests and the CLI call it directly.
 */
import type {ErrorObject, ValidateFunction} from 'ajv';
import {createHash} from 'node:crypto';
import type * as Yaml from 'yaml';
import type {InjectorConfig, VersionedConfig} from '../core/config';
import {unescapePointerToken} from '../core/json';
import {validate as validateConfigGenerated} from './config-validator.generated';
import {DEFAULT_CONFIG_JSON, DEFAULT_CONFIG_SHA256} from './default-config.generated';

export type ParsedConfig = {ok: true; value: VersionedConfig} | {ok: false; errors: string[]};

// Compiled from CONFIG_SCHEMA at development time (scripts/validators.ts); its `useDefaults` fills
// the optional lists so the core sees full objects. No Ajv is loaded at run time.
const validate = validateConfigGenerated as unknown as ValidateFunction<InjectorConfig>;

/** `/sidecars/0/image` -> `sidecars[0].image`, the way a person reads YAML. */
function fieldName(pointer: string): string {
  const name = pointer
    .split('/')
    .slice(1)
    .map(unescapePointerToken)
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`), '');
  return name === '' ? '(top level)' : name;
}

function describe(error: ErrorObject): string {
  const field = fieldName(error.instancePath);
  if (error.keyword === 'additionalProperties') {
    return `${field}: unknown field "${String(error.params['additionalProperty'])}"`;
  }
  if (error.keyword === 'required') return `${field}: missing required field "${String(error.params['missingProperty'])}"`;
  if (error.keyword === 'not' && error.instancePath.includes('/env/')) {
    return `${field}: set only one of value, valueFrom, injectorValue`;
  }
  return `${field}: ${error.message ?? error.keyword}`;
}

/** What a schema can't say: names that must be unique, and mounts that must name a volume. */
function crossCheck(config: InjectorConfig): string[] {
  const errors: string[] = [];
  const duplicates = (names: string[]): string[] => names.filter((n, i) => names.indexOf(n) !== i);
  const containers = [...config.initContainers, ...config.sidecars];
  for (const name of duplicates(containers.map(c => c.name))) errors.push(`initContainers/sidecars: container name "${name}" is used twice`);
  const volumeNames = config.volumes.map(v => v.name);
  for (const name of duplicates(volumeNames)) errors.push(`volumes: volume name "${name}" is used twice`);
  // A level's volumes stand in for the default ones, so they must carry exactly the same names.
  for (const [level, profile] of Object.entries(config.podSecurity)) {
    if (profile?.volumes === undefined) continue;
    const names = profile.volumes.map(v => v.name);
    if ([...names].sort().join() !== [...volumeNames].sort().join()) {
      errors.push(`podSecurity.${level}.volumes: names must match volumes (${volumeNames.join(', ')}), found (${names.join(', ')})`);
    }
  }
  const mounts = [
    ...config.volumeMounts.map((m, i) => ({m, field: `volumeMounts[${i}]`})),
    ...config.initContainers.flatMap((c, ci) => (c.volumeMounts ?? []).map((m, i) => ({m, field: `initContainers[${ci}].volumeMounts[${i}]`}))),
    ...config.sidecars.flatMap((c, ci) => (c.volumeMounts ?? []).map((m, i) => ({m, field: `sidecars[${ci}].volumeMounts[${i}]`}))),
  ];
  for (const {m, field} of mounts) {
    if (!volumeNames.includes(m.name)) errors.push(`${field}.name: no volume named "${m.name}" in volumes`);
  }
  if (containers.length === 0) errors.push('initContainers/sidecars: nothing to inject (both are empty)');
  if (Object.hasOwn(config.podLabels, config.configHashLabel)) {
    errors.push(`podLabels: "${config.configHashLabel}" is configHashLabel, which the injector sets to the config's hash`);
  }
  return errors;
}

/** Stable JSON: keys sorted, so the hash names the config's meaning, not its formatting. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function configHash(config: InjectorConfig): string {
  return createHash('sha256').update(canonical(config)).digest('hex').slice(0, 12);
}

let yaml: typeof Yaml | undefined;
/**
 * The YAML parser, loaded on first use: a function started with the bundled default config never
 * needs it (see parseConfig), and loading it costs a cold start about 17 ms (docs/benchmarks.md).
 */
function loadYaml(): typeof Yaml {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, on purpose (above)
  yaml ??= require('yaml') as typeof Yaml;
  return yaml;
}

/** Config text -> the data its one YAML document holds, before validation. */
export function parseConfigData(text: string): {ok: true; value: unknown} | {ok: false; errors: string[]} {
  const docs = loadYaml().parseAllDocuments(text);
  if (!Array.isArray(docs)) return {ok: false, errors: ['the config holds no YAML document']};
  const nonEmpty = docs.filter(d => d.contents !== null || d.errors.length > 0);
  if (nonEmpty.length !== 1) {
    return {ok: false, errors: [`the config must be exactly one YAML document (found ${nonEmpty.length})`]};
  }
  const doc = nonEmpty[0]!;
  if (doc.errors.length > 0) return {ok: false, errors: doc.errors.map(e => `YAML: ${e.message}`)};
  return {ok: true, value: doc.toJS({maxAliasCount: 100})};
}

/**
 * The bundled default config's text (manifests/base/config.yaml, also the default ConfigMap byte
 * for byte, and the base NSM's settings are applied on) was parsed at development time
 * (scripts/default-config.ts): that text is read from the generated JSON, without the YAML parser.
 * Any other text is parsed as YAML.
 */
export function parseConfig(text: string): ParsedConfig {
  if (createHash('sha256').update(text).digest('hex') === DEFAULT_CONFIG_SHA256) return checkConfig(JSON.parse(DEFAULT_CONFIG_JSON));
  const data = parseConfigData(text);
  return data.ok ? checkConfig(data.value) : data;
}

/**
 * A config as data (from YAML, or built from NSM's settings: nsm-env.ts) -> validated and hashed.
 * The validator fills in defaults, in place: pass a value nothing else holds on to.
 */
export function checkConfig(data: unknown): ParsedConfig {
  if (!validate(data)) return {ok: false, errors: (validate.errors ?? []).map(describe)};
  const errors = crossCheck(data);
  if (errors.length > 0) return {ok: false, errors};
  return {ok: true, value: {config: data, hash: configHash(data)}};
}
