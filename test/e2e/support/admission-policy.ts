/** Reading what the apiserver did with the ValidatingAdmissionPolicy: its metrics and its refusals. */
import {parseSamples} from '../../support/prom-text';
import type {KubeClient} from '../harness/kube';

export const POLICY_PATH = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies';
export const BINDING_PATH = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings';

/**
 * How many times the apiserver applied the policy with the given enforcement action ("deny", "warn",
 * "audit"; "allow" counts evaluation errors only: a plain allow is not counted by the apiserver).
 */
export async function policyChecks(admin: KubeClient, policy: string, action: string): Promise<number> {
  const lines = (await admin.getText('/metrics')).split('\n').filter(l => l.startsWith('apiserver_validating_admission_policy_check_total{'));
  let total = 0;
  for (const [series, value] of parseSamples(lines.join('\n'))) {
    if (series.includes(`policy="${policy}"`) && series.includes(`enforcement_action="${action}"`)) total += value;
  }
  return total;
}

/** The refusal of a create (a KubeApiError for an answer from the apiserver), or undefined when it was admitted. */
export async function refusal(create: Promise<unknown>): Promise<Error | undefined> {
  return create.then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
}
