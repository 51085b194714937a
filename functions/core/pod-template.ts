/**
 * A checked view of a pod template (a Pod, or a workload's `spec.template`).
 *
 * Objects reach the core from the apiserver or a YAML file, so nothing about their shape is taken
 * on trust: `checkPodTemplate` either returns the typed view or a message naming the odd field,
 * which the caller turns into "allowed, no patch, a warning".
 */
import type {Container, Volume} from 'kubernetes-types/core/v1';
import {isObject, isStringMap, own, type JsonObject} from './json';

export interface PodTemplateView {
  /** The template object itself (metadata + spec). */
  readonly raw: JsonObject;
  readonly metadata: JsonObject;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly spec: JsonObject;
  readonly containers: readonly Container[];
  readonly initContainers: readonly Container[];
  readonly volumes: readonly Volume[];
}

export type Checked<T> = {ok: true; value: T} | {ok: false; problem: string};

function checkNamedList(value: unknown, field: string): Checked<JsonObject[]> {
  if (value === undefined || value === null) return {ok: true, value: []};
  if (!Array.isArray(value)) return {ok: false, problem: `${field} is not an array`};
  for (const [i, item] of value.entries()) {
    if (!isObject(item)) return {ok: false, problem: `${field}[${i}] is not an object`};
    if (typeof own(item, 'name') !== 'string') return {ok: false, problem: `${field}[${i}].name is not a string`};
  }
  return {ok: true, value: value as JsonObject[]};
}

function checkStringMap(value: unknown, field: string): Checked<Record<string, string>> {
  if (value === undefined || value === null) return {ok: true, value: {}};
  if (!isStringMap(value)) return {ok: false, problem: `${field} is not a map of strings`};
  return {ok: true, value};
}

/** `path` names the template in messages, e.g. `spec.template`. */
export function checkPodTemplate(template: unknown, path: string): Checked<PodTemplateView> {
  const at = (field: string): string => (path === '' ? field : `${path}.${field}`);
  if (!isObject(template)) return {ok: false, problem: `${path || 'object'} is not an object`};
  const metadata = own(template, 'metadata') ?? {};
  if (!isObject(metadata)) return {ok: false, problem: `${at('metadata')} is not an object`};
  const labels = checkStringMap(own(metadata, 'labels'), at('metadata.labels'));
  if (!labels.ok) return labels;
  const annotations = checkStringMap(own(metadata, 'annotations'), at('metadata.annotations'));
  if (!annotations.ok) return annotations;
  const spec = own(template, 'spec');
  if (!isObject(spec)) return {ok: false, problem: `${at('spec')} is not an object`};
  const containers = checkNamedList(own(spec, 'containers'), at('spec.containers'));
  if (!containers.ok) return containers;
  const initContainers = checkNamedList(own(spec, 'initContainers'), at('spec.initContainers'));
  if (!initContainers.ok) return initContainers;
  const volumes = checkNamedList(own(spec, 'volumes'), at('spec.volumes'));
  if (!volumes.ok) return volumes;
  return {
    ok: true,
    value: {
      raw: template,
      metadata,
      labels: labels.value,
      annotations: annotations.value,
      spec,
      // Checked above: objects with a string `name`; the rest of each is the user's and passes through.
      containers: containers.value as unknown as Container[],
      initContainers: initContainers.value as unknown as Container[],
      volumes: volumes.value as unknown as Volume[],
    },
  };
}
