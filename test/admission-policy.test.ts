/**
 * The ValidatingAdmissionPolicy (scripts/admission-policy.ts), offline: the committed file is the one
 * generated from the manifests, both profiles ship it with the webhook's own selectors, its pieces of
 * CEL mean what the core means, and the table of pods the e2e suite runs through the real apiserver
 * gives, through the webhook's selectors and the core, the same answers.
 */
import {spawnSync} from 'node:child_process';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import fc from 'fast-check';
import {parseAllDocuments} from 'yaml';
import {injectObject} from '../functions/core/inject-object';
import {imageRepository} from '../functions/core/names';
import {BLANK_PATTERN, generateAdmissionPolicy, imagePattern, POLICY_NAME, TRIM_WHITESPACE} from '../scripts/admission-policy';
import {CASE_NAMESPACES, casePod, POLICY_CASES} from './support/admission-policy-cases';
import {defaultConfig} from './support/fixtures';
import {namespaceLabels, selects, type Selector} from './support/label-selector';

const REFRESH = process.env['REFRESH_GOLDEN'] === '1';
const generated = generateAdmissionPolicy();

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {name: string};
  [field: string]: unknown;
}
interface Webhook {
  namespaceSelector: Selector;
  objectSelector: Selector;
  matchPolicy: string;
  rules: Array<{operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[]; scope: string}>;
}
interface Policy extends KubeObject {
  spec: {failurePolicy: string; matchConstraints: {resourceRules: Webhook['rules']; matchPolicy: string; namespaceSelector: Selector; objectSelector: Selector}};
}

function render(profile: string): KubeObject[] {
  const out = spawnSync('kubectl', ['kustomize', `manifests/${profile}`], {encoding: 'utf8'});
  if (out.status !== 0) throw new Error(`kubectl kustomize manifests/${profile} failed:\n${out.stderr}`);
  return parseAllDocuments(out.stdout).map(d => d.toJS() as KubeObject);
}
/** The one object of this kind; with a name, the one of that kind and name (the knative profile has a second policy, its route guard). */
const one = <T extends KubeObject>(objects: KubeObject[], kind: string, name?: string): T => {
  const found = objects.filter(o => o.kind === kind && (name === undefined || o.metadata?.name === name));
  expect(found).toHaveLength(1);
  return found[0] as T;
};
const webhookOf = (objects: KubeObject[]): Webhook => (one<KubeObject & {webhooks: Webhook[]}>(objects, 'MutatingWebhookConfiguration').webhooks[0] as Webhook);

/** A JavaScript RegExp for an RE2 pattern of the subset the policy uses (`\x{HEX}` escapes). */
const jsRegExp = (re2: string): RegExp => new RegExp(re2.replace(/\\x\{/g, '\\u{'), 'u');

describe(generated.path, () => {
  it('is the file generated from the manifests', () => {
    if (REFRESH) writeFileSync(generated.path, generated.source);
    expect(existsSync(generated.path)).toBe(true);
    expect(readFileSync(generated.path, 'utf8')).toBe(generated.source);
  });

  it.each(['knative', 'deployment'])('manifests/%s ships it, matching exactly the pods its webhook is sent, and fails open itself', profile => {
    const objects = render(profile);
    const policy = one<Policy>(objects, 'ValidatingAdmissionPolicy', 'nsm-sidecar-injector');
    const binding = one<KubeObject & {spec: {policyName: string; validationActions: string[]}}>(objects, 'ValidatingAdmissionPolicyBinding', 'nsm-sidecar-injector');
    expect(policy.metadata.name).toBe(POLICY_NAME);
    expect(binding.spec).toEqual({policyName: POLICY_NAME, validationActions: ['Deny']});
    // The rendered webhook, after the profile's patches: a profile that changed its selectors would have to change these too.
    const webhook = webhookOf(objects);
    const {matchConstraints} = policy.spec;
    expect(matchConstraints.namespaceSelector).toEqual(webhook.namespaceSelector);
    expect(matchConstraints.objectSelector).toEqual(webhook.objectSelector);
    expect(matchConstraints.matchPolicy).toBe(webhook.matchPolicy);
    expect(matchConstraints.resourceRules).toEqual([{operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced'}]);
    expect(webhook.rules).toContainEqual(matchConstraints.resourceRules[0]);
    // A failing policy must not block pods that don't ask (docs/reliability.md).
    expect(policy.spec.failurePolicy).toBe('Ignore');
  });
});

describe('the CEL pieces mean what the core means', () => {
  it("TRIM_WHITESPACE is exactly the set of code points String.prototype.trim removes", () => {
    const inSet = (cp: number): boolean => TRIM_WHITESPACE.some(([from, to]) => cp >= from && cp <= to);
    const differing: number[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates: not characters
      if ((String.fromCodePoint(cp).trim() === '') !== inSet(cp)) differing.push(cp);
    }
    expect(differing).toEqual([]);
  });

  it('BLANK_PATTERN matches a string exactly when the core calls it blank (value.trim() === "")', () => {
    const blank = jsRegExp(BLANK_PATTERN);
    const chars = fc.constantFrom(' ', '\t', '\n', '\u000b', '\u0085', '\u00a0', '\u180e', '\u2000', '\u200b', '\u2028', '\u3000', '\ufeff', 'a', ',', '/');
    fc.assert(fc.property(fc.string({unit: chars, maxLength: 8}), value => blank.test(value) === (value.trim() === '')), {seed: 20261201, numRuns: 2000});
    expect(blank.test('')).toBe(true);
  });

  it('imagePattern(repository) matches an image exactly when imageRepository(image) is that repository', () => {
    for (const template of [...defaultConfig().config.initContainers, ...defaultConfig().config.sidecars]) {
      const repository = imageRepository(template.image);
      const pattern = jsRegExp(imagePattern(repository));
      const parts = fc.constantFrom(repository, 'ghcr.io', '/', ':', '@', '.', 'v1', 'sha256', '-init', 'x');
      fc.assert(
        fc.property(fc.array(parts, {maxLength: 6}), list => {
          const image = list.join('');
          return pattern.test(image) === (imageRepository(image) === repository);
        }),
        {seed: 20261201, numRuns: 3000},
      );
      expect(pattern.test(`${repository}:v1.18.0`)).toBe(true);
      expect(pattern.test(`${repository}x:v1.18.0`)).toBe(false);
    }
  });

  it('quotes the repository: a dot in it is not "any character"', () => {
    const pattern = jsRegExp(imagePattern('ghcr.io/nsm/cmd-nsc'));
    expect(pattern.test('ghcr.io/nsm/cmd-nsc:v1')).toBe(true);
    expect(pattern.test('ghcrxio/nsm/cmd-nsc:v1')).toBe(false);
  });
});

describe('the table of pods through the webhook rules (selectors, then the core)', () => {
  const webhook = webhookOf(render('deployment'));
  const config = defaultConfig();

  it.each(POLICY_CASES.map(c => [c.title, c] as const))('%s', (_title, c) => {
    const ns = CASE_NAMESPACES[c.namespace];
    const labels = ns.labels ?? {};
    const sent = selects(webhook.namespaceSelector, namespaceLabels(ns.name, labels)) && selects(webhook.objectSelector, c.labels ?? {});
    const namespace = {annotations: ns.annotations ?? {}, labels};
    const result = injectObject({kind: {group: '', kind: 'Pod'}, object: casePod(c, 'client'), seed: 'uid-1', namespace}, config);
    // The policy refuses, when nothing injected the pod, exactly what the webhook would have injected.
    expect(sent && result.decision.outcome === 'injected').toBe(c.refused);
  });

  it('covers both answers and every namespace of the table', () => {
    expect(new Set(POLICY_CASES.map(c => c.refused))).toEqual(new Set([true, false]));
    expect(new Set(POLICY_CASES.map(c => c.namespace))).toEqual(new Set(Object.keys(CASE_NAMESPACES)));
  });
});
