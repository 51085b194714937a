/** Builds (or finds cached) kube-apiserver and etcd before any test file starts a control plane. */
import {ensureControlPlaneBinaries} from '../harness/controlplane';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const binaries = await ensureControlPlaneBinaries();
  process.stderr.write(`\ncontrol plane binaries ready in ${binaries.dir} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
