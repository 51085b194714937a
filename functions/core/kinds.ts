/** The kinds whose pods we inject, and where each keeps its pod template. */

export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

export const INJECTABLE_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'] as const;
export type InjectableKind = (typeof INJECTABLE_KINDS)[number];

interface KindInfo {
  readonly group: string;
  /** Path from the object to its pod template; empty for a Pod, which is its own template. */
  readonly templatePath: readonly string[];
}

export const KIND_INFO: Readonly<Record<InjectableKind, KindInfo>> = {
  Pod: {group: '', templatePath: []},
  Deployment: {group: 'apps', templatePath: ['spec', 'template']},
  StatefulSet: {group: 'apps', templatePath: ['spec', 'template']},
  DaemonSet: {group: 'apps', templatePath: ['spec', 'template']},
  ReplicaSet: {group: 'apps', templatePath: ['spec', 'template']},
  Job: {group: 'batch', templatePath: ['spec', 'template']},
  CronJob: {group: 'batch', templatePath: ['spec', 'jobTemplate', 'spec', 'template']},
};

export function injectableKind(gk: GroupKind): InjectableKind | undefined {
  const kind = INJECTABLE_KINDS.find(k => k === gk.kind);
  return kind !== undefined && KIND_INFO[kind].group === gk.group ? kind : undefined;
}

/** Group and kind from an object's `apiVersion` (`apps/v1`, `v1`) and `kind`. */
export function groupKindOf(apiVersion: string, kind: string): GroupKind {
  const slash = apiVersion.indexOf('/');
  return {group: slash === -1 ? '' : apiVersion.slice(0, slash), kind};
}
