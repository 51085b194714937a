/**
 * A steady stream of pod creations, each one checked as the apiserver stored it: the count that
 * matters during a certificate renewal or a disruption is pods admitted without sidecars (the
 * webhook's failurePolicy is Ignore: a failed call alone would store the pod without them) and pods
 * refused (what the shipped admission policy does to such a pod instead). The pods never run (a nodeSelector no node matches): admission is what is measured.
 */
import type {Pod} from 'kubernetes-types/core/v1';
import {admin} from './cluster';
import {APP_IMAGE, NETWORK_SERVICES, NOWHERE, NSM_ANNOTATION, isInjected} from './workloads';

export interface StreamResult {
  created: number;
  /** Names of pods stored without the injected containers. */
  uninjected: string[];
  /** Creations the apiserver refused (the admission policy's refusal of a pod no injector answered). */
  errors: string[];
}

export interface PodStream {
  stop(): Promise<StreamResult>;
}

let streams = 0;

export function startPodStream(namespace: string, everyMs: number): PodStream {
  const prefix = `stream${++streams}`;
  const client = admin();
  const result: StreamResult = {created: 0, uninjected: [], errors: []};
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const name = `${prefix}-${++n}`;
      const started = Date.now();
      try {
        const pod = await client.create<Pod>(`/api/v1/namespaces/${namespace}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {name, annotations: {[NSM_ANNOTATION]: NETWORK_SERVICES}},
          spec: {nodeSelector: NOWHERE, containers: [{name: 'app', image: APP_IMAGE}]},
        });
        result.created++;
        if (!isInjected(pod)) result.uninjected.push(name);
      } catch (error) {
        result.errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      await new Promise(resolve => setTimeout(resolve, Math.max(0, everyMs - (Date.now() - started))));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}
