/**
 * Property tests (fast-check, fixed seed): whatever arrives, the core and the handler never throw,
 * never answer 5xx, and every patch applies to the object it was computed for, is a fixed point on
 * a second pass, and keeps the user's fields; a workload, in the default mode, never gains containers.
 */
import fc from 'fast-check';
import {applyPatch, deepClone, type Operation} from 'fast-json-patch';
import type {Pod} from 'kubernetes-types/core/v1';
import {injectObject} from '../functions/core/inject-object';
import {INJECTABLE_KINDS, KIND_INFO} from '../functions/core/kinds';
import {createHandler} from '../functions/http/handler';
import {silentLogger} from '../functions/ops/log';
import {parse, parseDocument, stringify} from 'yaml';
import {injectManifests, seedOf} from '../functions/cli/documents';
import {changedLines, flowLines} from './support/changed-lines';
import {decodePatch, defaultConfig, NSM_ANNOTATION, review} from './support/fixtures';
import type {VersionedConfig} from '../functions/core/config';
import type {Handler} from '../functions/http/handler';

const SEED = 20261128;
const RUNS = 300;
const config = defaultConfig();
const handle = createHandler({config: () => config, logger: silentLogger});
// As the CLI forces it (same config, same hash: the CLI's output and the webhook's are comparable).
const templateConfig: VersionedConfig = {config: {...config.config, workloads: 'inject-template'}, hash: config.hash};
const handleTemplates = createHandler({config: () => templateConfig, logger: silentLogger});

/** Keys that stress JSON pointers and prototypes. */
const nastyKey = fc.oneof(fc.string(), fc.constantFrom('/', '~', '~1', '~0', 'a/b~c', '__proto__', 'constructor', '', ' ', '\u2028', 'ü/ñ'));
const nastyString = fc.oneof(fc.string(), fc.string({unit: 'grapheme'}), fc.constantFrom('\n', '"', '\\', '\u0000', '${x}', 'a=b=c'));
const stringMap = fc.dictionary(nastyKey, nastyString, {maxKeys: 5});
const container = fc.record(
  {
    name: fc.oneof(fc.constantFrom('app', 'cmd-nsc', 'cmd-nsc-init', 'cmd-nsc-2'), fc.string({minLength: 1})),
    image: fc.oneof(fc.constantFrom('alpine', 'ghcr.io/networkservicemesh/cmd-nsc:v1', 'example.com/x:1'), fc.string()),
    env: fc.array(fc.record({name: fc.string(), value: nastyString}), {maxLength: 3}),
    extra: fc.jsonValue({maxDepth: 3}),
  },
  {requiredKeys: ['name']},
);
const volume = fc.record({name: fc.oneof(fc.constantFrom('nsm-socket', 'spire-agent-socket', 'data'), fc.string()), emptyDir: fc.constant({})});

/** Realistic pods (sometimes annotated, sometimes odd) to mutate at random. */
const podArb = fc.record(
  {
    apiVersion: fc.constant('v1'),
    kind: fc.constant('Pod'),
    metadata: fc.record(
      {
        name: fc.string(),
        generateName: fc.string(),
        labels: stringMap,
        annotations: fc.tuple(stringMap, fc.option(nastyString, {nil: undefined})).map(([m, v]) => (v === undefined ? m : {...m, [NSM_ANNOTATION]: v})),
      },
      {requiredKeys: []},
    ),
    spec: fc.record(
      {
        containers: fc.array(container, {maxLength: 4}),
        initContainers: fc.array(container, {maxLength: 2}),
        volumes: fc.array(volume, {maxLength: 3}),
      },
      {requiredKeys: ['containers']},
    ),
  },
  {requiredKeys: ['apiVersion', 'kind', 'spec', 'metadata']},
);

/** A workload around a pod template, of any injectable kind. */
const objectArb = fc.tuple(fc.constantFrom(...INJECTABLE_KINDS), podArb, fc.boolean()).map(([kind, pod, onWorkload]) => {
  if (kind === 'Pod') return {kind, object: pod};
  const {apiVersion: _a, kind: _k, ...template} = pod;
  const path = KIND_INFO[kind].templatePath;
  let object: unknown = template;
  for (const key of [...path].reverse()) object = {[key]: object};
  const metadata = onWorkload ? {name: 'w', annotations: pod.metadata.annotations ?? {}} : {name: 'w'};
  return {kind, object: {apiVersion: KIND_INFO[kind].group === '' ? 'v1' : `${KIND_INFO[kind].group}/v1`, kind, metadata, ...(object as object)}};
});

/**
 * A workload whose request may sit on its own metadata, on its template, on both or on neither (the
 * template's keeps or loses the NSM annotation the pod arbitrary gave it).
 */
const WORKLOAD_KINDS = INJECTABLE_KINDS.filter(k => k !== 'Pod');
const workloadArb = fc
  .tuple(fc.constantFrom(...WORKLOAD_KINDS), podArb, fc.option(nastyString, {nil: undefined}), fc.boolean(), stringMap)
  .map(([kind, pod, request, templateKeeps, workloadAnnotations]) => {
    const {apiVersion: _a, kind: _k, ...template} = pod;
    const annotations = {...template.metadata.annotations};
    if (!templateKeeps) delete annotations[NSM_ANNOTATION];
    let object: unknown = {...template, metadata: {...template.metadata, annotations}};
    for (const key of [...KIND_INFO[kind].templatePath].reverse()) object = {[key]: object};
    const metadata = {name: 'w', annotations: request === undefined ? workloadAnnotations : {...workloadAnnotations, [NSM_ANNOTATION]: request}};
    return {kind, object: {apiVersion: `${KIND_INFO[kind].group}/v1`, kind, metadata, ...(object as object)}};
  });

const groupOf = (kind: (typeof INJECTABLE_KINDS)[number]) => ({group: KIND_INFO[kind].group, kind});
const templateOf = (kind: (typeof INJECTABLE_KINDS)[number], o: unknown): Record<string, unknown> => {
  let node = o as Record<string, unknown>;
  for (const key of KIND_INFO[kind].templatePath) node = node[key] as Record<string, unknown>;
  return node;
};
const params = {seed: SEED, numRuns: RUNS};

async function mutate(object: unknown, kind: {group: string; kind: string}, options: {uid?: string; handler?: Handler} = {}) {
  const sent = review(object, options.uid === undefined ? {kind} : {kind, uid: options.uid});
  const answer = await (options.handler ?? handle)({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(sent))}});
  expect(answer.status).toBe(200);
  const response = (JSON.parse(answer.body) as {response: {allowed: boolean; patch?: string}}).response;
  expect(response.allowed).toBe(true);
  return decodePatch(response.patch) as Operation[];
}

describe('properties', () => {
  it('the core never throws on arbitrary JSON, whatever the kind', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...INJECTABLE_KINDS, 'Service'), (object, kind) => {
        injectObject({kind: {group: kind === 'Service' ? '' : (KIND_INFO[kind as 'Pod']?.group ?? ''), kind}, object, seed: 's'}, config);
      }),
      params,
    );
  });

  it('the handler answers arbitrary bodies with 200 or a 4xx carrying a code and message, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.jsonValue().map(v => JSON.stringify(v)), fc.uint8Array().map(a => Buffer.from(a).toString('latin1'))), async body => {
        const answer = await handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(body, 'latin1')}});
        expect(answer.status === 200 || (answer.status >= 400 && answer.status < 500)).toBe(true);
        const parsed = JSON.parse(answer.body) as {error?: {code: string; message: string}};
        if (answer.status !== 200) expect(parsed.error?.message.length).toBeGreaterThan(0);
      }),
      params,
    );
  });

  it('the handler answers arbitrary reviews (arbitrary objects inside a valid envelope) with an allowed review', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.constantFrom(...INJECTABLE_KINDS), fc.constantFrom('CREATE', 'UPDATE', 'DELETE'), async (object, kind, operation) => {
        const sent = review(object, {kind: groupOf(kind), operation});
        const answer = await handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(sent))}});
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toMatchObject({apiVersion: sent.apiVersion, kind: 'AdmissionReview', response: {uid: sent.request.uid, allowed: true}});
      }),
      params,
    );
  });

  it.each([
    ['workloads: pods', handle],
    ['workloads: inject-template', handleTemplates],
  ])('every patch applies to its object, a second pass is a no-op, and user fields are kept (%s)', async (_mode, handler) => {
    await fc.assert(
      fc.asyncProperty(objectArb, async ({kind, object}) => {
        const ops = await mutate(object, groupOf(kind), {handler});
        const injected = applyPatch(deepClone(object), ops, true).newDocument as unknown;
        expect(await mutate(injected, groupOf(kind), {handler})).toEqual([]);
        // Everything the user had is still there, unchanged and in order.
        const before = templateOf(kind, object) as Pod;
        const after = templateOf(kind, injected) as Pod;
        expect(after.spec?.containers.slice(0, before.spec?.containers.length)).toEqual(before.spec?.containers);
        expect((after.spec?.initContainers ?? []).slice(0, before.spec?.initContainers?.length ?? 0)).toEqual(before.spec?.initContainers ?? []);
        expect((after.spec?.volumes ?? []).slice(0, before.spec?.volumes?.length ?? 0)).toEqual(before.spec?.volumes ?? []);
        expect(after.metadata?.labels ?? {}).toMatchObject(before.metadata?.labels ?? {});
        for (const [k, v] of Object.entries(before.metadata?.annotations ?? {})) expect(after.metadata?.annotations?.[k]).toBe(v);
        // What we add never duplicates a name (the user's own duplicates are theirs to keep).
        const names = (p: Pod) => [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map(c => c.name);
        const added = names(after).filter(n => !names(before).includes(n));
        expect(names(after).length - names(before).length).toBe(added.length);
        expect(new Set(added).size).toBe(added.length);
      }),
      params,
    );
  });

  it('in the default mode (workloads: pods) a workload never gains a container, init container or volume: at most the request is copied into its template', async () => {
    let copied = 0;
    await fc.assert(
      fc.asyncProperty(workloadArb, async ({kind, object}) => {
        const ops = await mutate(object, groupOf(kind));
        if (ops.length > 0) copied++;
        const after = applyPatch(deepClone(object), ops, true).newDocument as Record<string, unknown>;
        const expected = deepClone(object) as Record<string, unknown>;
        if (ops.length > 0) {
          // The one change allowed: the workload's own request, copied into a template that had none.
          const request = (object['metadata'] as {annotations: Record<string, string>}).annotations[NSM_ANNOTATION];
          expect(typeof request === 'string' && request.trim() !== '').toBe(true);
          const template = templateOf(kind, expected);
          const metadata = (template['metadata'] ?? {}) as {annotations?: Record<string, string>};
          expect(metadata.annotations?.[NSM_ANNOTATION]).toBeUndefined();
          template['metadata'] = {...metadata, annotations: {...metadata.annotations, [NSM_ANNOTATION]: request}};
        }
        expect(after).toEqual(expected);
        expect(await mutate(after, groupOf(kind))).toEqual([]);
      }),
      params,
    );
    // The arbitrary reaches the copy often enough for the property to mean something.
    expect(copied).toBeGreaterThan(RUNS / 20);
  });

  it('the annotation value reaches the env byte for byte, whatever it holds', async () => {
    await fc.assert(
      fc.asyncProperty(nastyString.filter(s => s.trim() !== ''), async value => {
        const pod = {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'p', annotations: {[NSM_ANNOTATION]: value}}, spec: {containers: [{name: 'app', image: 'a'}]}};
        const injected = applyPatch(deepClone(pod), await mutate(pod, {group: '', kind: 'Pod'}), true).newDocument as Pod;
        expect(injected.spec?.containers[1]?.env?.find(e => e.name === 'NSM_NETWORK_SERVICES')?.value).toBe(value);
      }),
      params,
    );
  });
});

describe('nsm-inject on the same objects, written in any layout', () => {
  /** The layouts users write: indentation 2 or 4, lists indented or not, block or flow. */
  const layoutArb = fc.record({indent: fc.constantFrom(2, 4), indentSeq: fc.boolean(), collectionStyle: fc.constantFrom('block', 'flow', 'any')}) as fc.Arbitrary<{
    indent: number;
    indentSeq: boolean;
    collectionStyle: 'block' | 'flow' | 'any';
  }>;

  // Fewer runs than the others: each one runs the CLI twice, the handler and a line diff.
  const cliParams = {seed: SEED, numRuns: 120};

  it("prints the webhook's result, keeps every user line outside flow collections, and is a fixed point", async () => {
    let written = 0;
    let injected = 0;
    await fc.assert(
      fc.asyncProperty(objectArb, layoutArb, async ({kind, object}, layout) => {
        const text = stringify(object, {...layout, lineWidth: 0, aliasDuplicateObjects: false});
        // The yaml library itself writes an empty list as an invalid `key:\n  []` with these options.
        fc.pre(parseDocument(text).errors.length === 0);
        const out = injectManifests(text, config, 'prop.yaml');
        // The CLI injects workloads' templates (workloads: inject-template), whatever the config says.
        const expected = applyPatch(deepClone(object), await mutate(object, groupOf(kind), {uid: seedOf(object), handler: handleTemplates}), true).newDocument as unknown;
        expect(parse(out.text)).toEqual(JSON.parse(JSON.stringify(expected)));
        expect(injectManifests(out.text, config, 'prop.yaml').text).toBe(out.text);
        const anew = out.reports.some(r => r.warnings.some(w => w.startsWith('written out anew')));
        if (anew) return;
        written++;
        if (out.text !== text) injected++;
        const flow = flowLines(text);
        expect(changedLines(text, out.text).filter(l => !flow.has(l))).toEqual([]);
      }),
      cliParams,
    );
    // The line check ran on every case (none fell back to printing anew), and many were injected.
    expect(written).toBe(cliParams.numRuns);
    expect(injected).toBeGreaterThan(cliParams.numRuns / 4);
  });
});

describe('limits', () => {
  // The apiserver's JSON decoder stops at depth 10,000; go well past it. Built as text because
  // JSON.stringify itself would overflow the stack.
  it('a deeply nested object inside a pod does not break the answer', async () => {
    const depth = 50_000;
    const pod = {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'p', annotations: {[NSM_ANNOTATION]: 'k://a'}}, spec: {containers: [{name: 'app', image: 'a', deep: 'DEEP'}]}};
    const body = Buffer.from(JSON.stringify(review(pod)).replace('"DEEP"', `${'{"a":'.repeat(depth)}"leaf"${'}'.repeat(depth)}`));
    const answer = await handle({method: 'POST', path: '/mutate', body: {bytes: body}});
    expect(answer.status).toBe(200);
    const response = (JSON.parse(answer.body) as {response: {patch?: string}}).response;
    expect(decodePatch(response.patch).length).toBeGreaterThan(0);
  });

  it('a 200 KB annotation value passes through intact', async () => {
    const value = `kernel://a/nsm-1?x=${'"\n\\'.repeat(70_000)}`;
    const pod = {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'p', annotations: {[NSM_ANNOTATION]: value}}, spec: {containers: [{name: 'app', image: 'a'}]}};
    const injected = applyPatch(deepClone(pod), await mutate(pod, {group: '', kind: 'Pod'}), true).newDocument as Pod;
    expect(injected.spec?.initContainers?.[0]?.env?.find(e => e.name === 'NSM_NETWORK_SERVICES')?.value).toBe(value);
  });
});
