/**
 * The shape of a validated injector config: what to inject, all of it data.
 *
 * The YAML a platform engineer writes (see manifests/base/config.yaml) is validated against
 * functions/config/schema.ts and then has exactly this type. The core never reads a file or the
 * environment: it is handed one of these.
 */
import type {EnvVar, ResourceRequirements, SecurityContext, Volume, VolumeMount} from 'kubernetes-types/core/v1';

/** Values only the injector knows at admission time, which an env entry can ask for by name. */
export const INJECTOR_VALUES = [
  /** The trigger annotation's value, byte for byte (NSM's NSM_NETWORK_SERVICES). */
  'networkServices',
  /** `$(POD_NAME)` plus a suffix that is stable for one admission request (NSM's NSM_NAME). */
  'nsmName',
] as const;
export type InjectorValue = (typeof INJECTOR_VALUES)[number];

/** An env entry: a plain Kubernetes EnvVar, or one whose value the injector fills in. */
export type EnvTemplate = EnvVar | {name: string; injectorValue: InjectorValue};

/** One container to inject. `env` and `volumeMounts` come after the config-wide ones. */
export interface ContainerTemplate {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  resources?: ResourceRequirements;
  securityContext?: SecurityContext;
  env?: EnvTemplate[];
  volumeMounts?: VolumeMount[];
}

/**
 * What the webhook does with a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
 * CronJob) that asks for injection:
 *  - `pods`: nothing to its containers; its pods are injected when they are created, with the config
 *    in force then, so a rollout restart is an upgrade. A request on the workload's own metadata
 *    (NSM's convention) is copied into its pod template, so that its pods ask for themselves.
 *  - `inject-template`: the sidecars are written into its pod template (NSM's own webhook does
 *    this); its pods then arrive injected and keep that injection until the workload is re-created.
 * The `nsm-inject` CLI always injects templates: GitOps users commit what runs.
 */
export const WORKLOAD_MODES = ['pods', 'inject-template'] as const;
export type WorkloadMode = (typeof WORKLOAD_MODES)[number];

/** Pod Security Standards levels, as the namespace label `pod-security.kubernetes.io/enforce` names them. */
export const POD_SECURITY_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** What changes at one Pod Security level, so that what we add never gets a pod rejected. */
export interface PodSecurityProfile {
  /** Replaces `volumes` (same names: the mounts don't change), e.g. CSI instead of hostPath. */
  volumes?: Volume[];
  /** Merged over each injected container's own securityContext. */
  securityContext?: SecurityContext;
}

export interface InjectorConfig {
  /** The annotation whose non-empty value (a comma list of NS URLs) asks for injection. */
  annotation: string;
  /** Written on what we inject so that a second pass (reinvocation, re-applied CLI output) changes nothing. */
  statusAnnotation: string;
  /**
   * Label set on everything we inject to the config's hash, so that one label selector lists the
   * pods still running an older injection.
   */
  configHashLabel: string;
  /** Workloads: inject their pods when created (`pods`), or their pod template (`inject-template`). */
  workloads: WorkloadMode;
  /** Run sidecars as init containers with `restartPolicy: Always` (Kubernetes 1.29+), so Jobs complete. */
  nativeSidecars: boolean;
  /** Labels added to the pod (never overriding a label the pod already has). */
  podLabels: Record<string, string>;
  /** Env put first in every injected container, in order. */
  env: EnvTemplate[];
  /** Mounts put first in every injected container. */
  volumeMounts: VolumeMount[];
  /** Appended after the pod's own init containers. */
  initContainers: ContainerTemplate[];
  /** Appended after the pod's own containers (or after our init containers, with nativeSidecars). */
  sidecars: ContainerTemplate[];
  /** Pod volumes the mounts refer to (at the privileged level, or when the level has none of its own). */
  volumes: Volume[];
  /**
   * The level of namespaces without the `pod-security.kubernetes.io/enforce` label: PodSecurity
   * admission's cluster default (privileged unless the cluster's AdmissionConfiguration says otherwise).
   */
  podSecurityDefault: PodSecurityLevel;
  /** Per Pod Security level of the pod's namespace. */
  podSecurity: Partial<Record<PodSecurityLevel, PodSecurityProfile>>;
  /**
   * NS URL query label naming an SR-IOV resource pool (NSM: `sriovToken`); the injected init
   * containers request one of that extended resource per URL that names it. Empty: off.
   */
  sriovTokenLabel: string;
  /**
   * The SR-IOV pools a pod may ask for. A token is pod input (anyone who may create a pod controls
   * it), so a cluster can limit it to its real pools; absent, any extended resource name (as NSM).
   */
  sriovAllowedPools?: string[];
}

/** A config together with the digest of its source, which the injection stamps on what it injects. */
export interface VersionedConfig {
  readonly config: InjectorConfig;
  /** Short hex digest of the config's canonical form; identifies which config version injected a pod. */
  readonly hash: string;
}
