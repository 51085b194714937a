/**
 * What the core needs to know of the pod's Namespace: its annotations (a namespace-wide request for
 * network services) and labels (its Pod Security level). The webhook fetches it, the CLI reads it
 * from Namespace manifests; the core only receives it.
 */
import {POD_SECURITY_LEVELS, type PodSecurityLevel} from './config';

export interface NamespaceMeta {
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

/** What reading the Namespace gave: its metadata, or why it could not be read. */
export type NamespaceLookup = {ok: true; meta: NamespaceMeta} | {ok: false; reason: string};

export const POD_SECURITY_ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';

/**
 * The namespace's enforced level. Without the label (or with a value Kubernetes would not accept,
 * or when the namespace is unknown), the cluster's default applies: PodSecurity admission's own
 * default is privileged, and a cluster that sets another one says so in the config.
 */
export function podSecurityLevel(namespace: NamespaceMeta | undefined, clusterDefault: PodSecurityLevel = 'privileged'): PodSecurityLevel {
  const value = namespace?.labels[POD_SECURITY_ENFORCE_LABEL];
  return POD_SECURITY_LEVELS.find(level => level === value) ?? clusterDefault;
}
