/**
 * Knative item 3: request size. Neither Knative's queue-proxy nor its activator limits a body, and
 * functions-framework's parser reads up to 1 GiB (and inflates compressed bodies) before the function
 * sees anything. The profile refuses at two places, proved here with 20 MiB bodies against a pod whose
 * memory limit is 256 Mi: Traefik's buffering middleware on the webhook's route (413 before a byte
 * reaches Knative), and the knative entry point's gate in the pod itself (413 for a declared length over
 * 6 MiB, 411 for a chunked body, 415 for a compressed one), which also holds for any caller that reaches
 * the pod without Traefik. The container must neither restart nor come near its memory limit.
 */
import {existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {request} from 'node:http';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';
import type {Pod} from 'kubernetes-types/core/v1';
import {figure, until} from '../support/cluster';
import {QUICK_ZERO, bridgeClusterIp, ensureKnativeProfile, caBundle, revisionPods, review, throughBridge, type Answer} from './support';

const MiB = 1024 * 1024;
const LIMIT_BYTES = 256 * MiB;
let pod: Pod;
let cgroup = '';

/** The injector container's memory cgroup (v1) on this node: .../pod<uid>/<container id>. */
function memoryCgroup(p: Pod): string {
  const uid = p.metadata?.uid ?? '';
  const id = (p.status?.containerStatuses?.find(c => c.name === 'injector')?.containerID ?? '').replace(/^containerd:\/\//, '');
  const root = '/sys/fs/cgroup/memory/nsm-cluster/kubepods';
  for (const qos of ['', 'burstable', 'besteffort']) {
    const dir = join(root, qos, `pod${uid}`, id);
    if (id !== '' && existsSync(join(dir, 'memory.max_usage_in_bytes'))) return dir;
  }
  throw new Error(`no memory cgroup for pod ${uid} container ${id} under ${root} (${readdirSync(root).join(', ')})`);
}

const peakBytes = (): number => Number(readFileSync(join(cgroup, 'memory.max_usage_in_bytes'), 'utf8'));
/** cgroup v1: writing 0 resets the peak, so the next read is the peak since now. */
const resetPeak = (): void => writeFileSync(join(cgroup, 'memory.max_usage_in_bytes'), '0');

/** A request straight to the pod's queue-proxy (port 8012), bypassing Traefik and the activator. */
function toPod(headers: Record<string, string | number>, body: Buffer | undefined, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({host: pod.status?.podIP, port: 8012, method: 'POST', path: '/mutate', headers: {'content-type': 'application/json', ...headers}, timeout: 60_000}, res => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')}));
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 60 s')));
    // The server may answer and close before it has read the body: that answer is what counts.
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (chunked) {
      for (let offset = 0; offset < body.length; offset += MiB) req.write(body.subarray(offset, offset + MiB));
      req.end();
    } else req.end(body);
  });
}

async function injectorContainer(): Promise<{restarts: number; lastReason: string | undefined}> {
  const [current] = (await revisionPods()).filter(p => p.metadata?.uid === pod.metadata?.uid);
  const status = current?.status?.containerStatuses?.find(c => c.name === 'injector');
  return {restarts: status?.restartCount ?? -1, lastReason: status?.lastState?.terminated?.reason};
}

beforeAll(async () => {
  // One pod that stays up for the whole file (min-scale 1): its cgroup is what is watched.
  await ensureKnativeProfile({...QUICK_ZERO, 'autoscaling.knative.dev/min-scale': '1'});
  pod = await until('one ready Revision pod', async () => {
    const ready = (await revisionPods()).filter(p => p.metadata?.deletionTimestamp === undefined && p.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True'));
    return ready.length === 1 ? ready[0] : undefined;
  }, 180_000, 1000);
  cgroup = memoryCgroup(pod);
  // What staying warm costs: the whole pod (the function and Knative's queue-proxy), idle.
  const podUsage = Number(readFileSync(join(cgroup, '..', 'memory.usage_in_bytes'), 'utf8'));
  figure('knative: one warm, idle function pod (injector + queue-proxy), memory in use', Math.round(podUsage / MiB), 'MiB');
});

test('through Traefik: a 20 MiB review gets 413 from the body-limit middleware; a normal one is answered', async () => {
  const ip = await bridgeClusterIp();
  const ca = await caBundle();
  const ok = await throughBridge(ip, ca, {headers: {'content-type': 'application/json'}, body: review('small')});
  expect(ok.status).toBe(200);
  expect(JSON.parse(ok.body)).toMatchObject({response: {uid: 'small', allowed: true}});
  resetPeak();
  const big = Buffer.alloc(20 * MiB, 0x20);
  const refused = await throughBridge(ip, ca, {headers: {'content-type': 'application/json', 'content-length': big.length}, body: big});
  expect(refused.status).toBe(413);
  // Traefik's own answer, not the function's (whose 413 is a Kubernetes Status naming body-too-large).
  expect(refused.body).not.toContain('body-too-large');
  figure('knative: pod memory peak while Traefik refused a 20 MiB body', Math.round(peakBytes() / MiB), 'MiB');
});

test("straight to the pod: the entry point's gate refuses 20 MiB (413), chunked (411) and compressed (415) bodies; the pod stays under its memory limit", async () => {
  const before = await injectorContainer();
  resetPeak();
  const big = Buffer.alloc(20 * MiB, 0x20);
  const declared = await toPod({'content-length': big.length}, big);
  expect([declared.status, declared.body]).toEqual([413, expect.stringContaining('body-too-large')]);
  const chunked = await toPod({'transfer-encoding': 'chunked'}, big, true);
  expect([chunked.status, chunked.body]).toEqual([411, expect.stringContaining('length-required')]);
  // A few KiB that body-parser would inflate to 512 MiB, twice the pod's memory limit.
  const bomb = gzipSync(Buffer.alloc(512 * MiB, 0x20), {level: 9});
  const compressed = await toPod({'content-encoding': 'gzip', 'content-length': bomb.length}, bomb);
  expect([compressed.status, compressed.body]).toEqual([415, expect.stringContaining('unsupported-content-encoding')]);
  const peak = peakBytes();
  figure('knative: pod memory peak during the three refused bodies (limit 256 MiB)', Math.round(peak / MiB), 'MiB');
  figure('knative: gzip bomb size sent', Math.round(bomb.length / 1024), 'KiB');
  expect(peak).toBeLessThan(LIMIT_BYTES);
  // And it still answers, in the same container.
  const ok = await toPod({}, review('after'));
  expect(ok.status).toBe(200);
  expect(await injectorContainer()).toEqual(before);
  expect(before.lastReason).toBeUndefined();
});

afterAll(async () => {
  // Back to what the other files expect (scale to zero), whichever runs next.
  await ensureKnativeProfile();
});
