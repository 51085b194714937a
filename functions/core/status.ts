/**
 * The status annotation written on every injected pod template, like Istio's `sidecar.istio.io/status`:
 * it marks the object as injected (so a second pass is a no-op) and records which config version
 * injected what, so an operator can tell from a pod alone.
 */
import type {InjectedNames} from './decision';

export interface InjectionStatus extends InjectedNames {
  /** Digest of the config that injected this template. */
  config: string;
}

export function encodeStatus(configHash: string, injected: InjectedNames): string {
  const status: InjectionStatus = {config: configHash, ...injected};
  return JSON.stringify(status);
}
