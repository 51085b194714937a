/** The project's manifests, rendered by kustomize, as the end-to-end suite applies them. */
import {execFileSync} from 'node:child_process';
import {parseAllDocuments} from 'yaml';
import type {KubeObject} from '../harness/kube';

export type Manifest = KubeObject & {apiVersion: string; kind: string; metadata: {name: string; namespace?: string}};

/** A profile, or an overlay of one (deployment-mtls: the deployment profile with the mtls component). */
export function render(profile: 'knative' | 'deployment' | 'deployment-mtls'): Manifest[] {
  const text = execFileSync('kubectl', ['kustomize', `manifests/${profile}`], {encoding: 'utf8'});
  return parseAllDocuments(text).map(d => d.toJS() as Manifest);
}

export function pick(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter(m => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in the manifests, found ${found.length}`);
  return found[0] as Manifest;
}

/** The REST collection path for a core-API object (the kinds our manifests use). */
export function collectionPath(m: Manifest): string {
  const plural: Record<string, string> = {
    Namespace: 'namespaces',
    ConfigMap: 'configmaps',
    ServiceAccount: 'serviceaccounts',
    Service: 'services',
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
    Role: 'roles',
    RoleBinding: 'rolebindings',
    MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
    ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
    ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
    Deployment: 'deployments',
    PodDisruptionBudget: 'poddisruptionbudgets',
  };
  const resource = plural[m.kind];
  if (resource === undefined) throw new Error(`no REST path known for ${m.kind}`);
  const base = m.apiVersion === 'v1' ? '/api/v1' : `/apis/${m.apiVersion}`;
  return m.metadata.namespace !== undefined && m.kind !== 'Namespace' ? `${base}/namespaces/${m.metadata.namespace}/${resource}` : `${base}/${resource}`;
}

/** Core-API groups the apiserver of the suite serves (cert-manager and Knative kinds need their CRDs). */
const CORE_API_VERSIONS = ['v1', 'apps/v1', 'policy/v1', 'rbac.authorization.k8s.io/v1', 'admissionregistration.k8s.io/v1'];
export const isCoreApi = (m: Manifest): boolean => CORE_API_VERSIONS.includes(m.apiVersion);
