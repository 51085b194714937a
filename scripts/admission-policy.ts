/**
 * The ValidatingAdmissionPolicy that refuses a pod which asks for network services but was not injected
 * (issue 17: "no silent misses"), generated at development time from the files the webhook's decision
 * rules live in, so that the two can't drift:
 *
 *  - which pods the apiserver sends to the webhook at all (its rule for pods, its namespaceSelector with
 *    the excluded namespaces and the opt-out label, its objectSelector): copied from
 *    manifests/base/webhook.yaml into the policy's matchConstraints;
 *  - which pods ask and which are injected already: functions/core/inject-object.ts (`requestOf`, the
 *    status-annotation check) and functions/core/inject-pod.ts (`ourContainersPresent`), written here in
 *    CEL with the names from manifests/base/config.yaml (the annotation, the status annotation, the
 *    injected containers and their image repositories).
 *
 * test/admission-policy.test.ts regenerates the file, fails when the committed one is stale (rewrite it
 * with REFRESH_GOLDEN=1 npm test), and runs a table of pods (test/support/admission-policy-cases.ts)
 * through the core; test/e2e/admission-policy.e2e.test.ts runs the same table through this policy on a
 * real kube-apiserver. Change a rule in one place and one of them fails until the other follows.
 */
import {readFileSync} from 'node:fs';
import {Document, isMap, isScalar, parse, parseAllDocuments, type Node} from 'yaml';
import {parseConfig} from '../functions/config/parse';
import type {InjectorConfig} from '../functions/core/config';
import {imageRepository} from '../functions/core/names';

export const POLICY_PATH = 'manifests/components/admission-policy/admission-policy.yaml';
/** The policy's and the binding's name (docs/deploy.md tells how to delete the binding to turn it off). */
export const POLICY_NAME = 'nsm-sidecar-injector';

const SOURCES = {
  webhook: 'manifests/base/webhook.yaml',
  config: 'manifests/base/config.yaml',
  namespace: 'manifests/base/namespace.yaml',
} as const;

/**
 * The code points String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator), as ranges.
 * The core calls a request "blank", hence not a request, when `value.trim() === ''`; CEL's own trim()
 * is Go's strings.TrimSpace, which differs (it strips U+0085 and keeps U+FEFF), so the policy matches
 * this exact set instead. test/admission-policy.test.ts checks it against trim() for every code point.
 */
export const TRIM_WHITESPACE: ReadonlyArray<readonly [number, number]> = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];

const hex = (cp: number): string => `\\x{${cp.toString(16)}}`;

/** An RE2 pattern (CEL's `matches`) for a string made of TRIM_WHITESPACE only, the empty string included. */
export const BLANK_PATTERN = `^[${TRIM_WHITESPACE.map(([from, to]) => (from === to ? hex(from) : `${hex(from)}-${hex(to)}`)).join('')}]*$`;

/** Go's regexp.QuoteMeta: the pattern that matches `text` literally. */
const quoteMeta = (text: string): string => text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

/**
 * An RE2 pattern for the images whose `imageRepository()` (functions/core/names.ts) is `repository`:
 * the repository itself, then an optional `:tag` that holds no `/` (with one, the last path segment,
 * hence the repository, would be another) and no `@`, then the end or `@digest`.
 */
export const imagePattern = (repository: string): string => `^${quoteMeta(repository)}(:[^/@]*)?(@|$)`;

/** A CEL string literal (double-quoted, escaped). */
function cel(text: string): string {
  return JSON.stringify(text);
}

/** What the policy is generated from, read from the manifests. */
export interface PolicySources {
  readonly config: InjectorConfig;
  readonly injectorNamespace: string;
  readonly webhook: Record<string, unknown>;
}

function readYaml(path: string): unknown {
  return parse(readFileSync(path, 'utf8')) as unknown;
}

export function readPolicySources(): PolicySources {
  const parsed = parseConfig(readFileSync(SOURCES.config, 'utf8'));
  if (!parsed.ok) throw new Error(`${SOURCES.config} is invalid: ${parsed.errors.join('; ')}`);
  const webhooks = (parseAllDocuments(readFileSync(SOURCES.webhook, 'utf8'))[0]?.toJS() as {webhooks: Array<Record<string, unknown>>}).webhooks;
  if (webhooks.length !== 1 || webhooks[0] === undefined) throw new Error(`${SOURCES.webhook}: expected one webhook`);
  const namespace = readYaml(SOURCES.namespace) as {metadata: {name: string}};
  return {
    config: parsed.value.config,
    injectorNamespace: namespace.metadata.name,
    webhook: webhooks[0],
  };
}

interface Rule {
  readonly apiGroups: string[];
  readonly resources: string[];
}

/** The CEL of the policy, one expression per decision rule it mirrors. */
export function policyExpressions(config: InjectorConfig, injectorNamespace: string): {variables: Array<{name: string; expression: string}>; validation: string; message: string} {
  const annotation = cel(config.annotation);
  const ours = [...config.initContainers, ...config.sidecars].map(t => `(c.name == ${cel(t.name)} && c.image.matches(${cel(imagePattern(imageRepository(t.image)))}))`);
  const variables = [
    // requestOf: the pod's own annotation decides when present, even empty (an opt-out of its namespace's).
    {name: 'ownRequest', expression: `has(object.metadata.annotations) && ${annotation} in object.metadata.annotations`},
    {name: 'namespaceRequest', expression: `has(namespaceObject.metadata.annotations) && ${annotation} in namespaceObject.metadata.annotations`},
    {
      name: 'request',
      expression: [
        `variables.ownRequest ? object.metadata.annotations[${annotation}]`,
        `: variables.namespaceRequest ? namespaceObject.metadata.annotations[${annotation}]`,
        `: ""`,
      ].join('\n'),
    },
    // injectObject: a request of blanks only (value.trim() === '') is no request.
    {name: 'requested', expression: `!variables.request.matches(${cel(BLANK_PATTERN)})`},
    // injectObject: our status annotation, whatever its value; ourContainersPresent: one of our
    // containers (same name, same image repository) among the init containers or the containers.
    {name: 'containers', expression: 'object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : [])'},
    {
      name: 'injected',
      expression: [
        `(has(object.metadata.annotations) && ${cel(config.statusAnnotation)} in object.metadata.annotations)`,
        `|| variables.containers.exists(c, has(c.image) && (`,
        ...ours.map((o, i) => `  ${i === 0 ? '' : '|| '}${o}`),
        `))`,
      ].join('\n'),
    },
  ];
  const check = `kubectl -n ${injectorNamespace} get pods`;
  const message = [
    '"this pod asks for network services ("',
    `+ (variables.ownRequest ? ${cel(`its ${config.annotation} annotation`)} : ${cel(`the ${config.annotation} annotation of namespace `)} + namespaceObject.metadata.name)`,
    '+ ") but has no NSM sidecars: the NSM sidecar injector did not process it (down, starting, or unreachable from the apiserver). "',
    '+ (has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller)',
    '   ? "Its controller will create it again (with backoff)"',
    '   : "Create it again once the injector is back")',
    `+ ${cel(`; check \`${check}\`.`)}`,
  ].join('\n');
  return {variables, validation: '!variables.requested || variables.injected', message};
}

/** The policy and its binding as objects, from the manifests' own sources. */
export function buildPolicy(sources: PolicySources): [Record<string, unknown>, Record<string, unknown>] {
  const {config, injectorNamespace, webhook} = sources;
  const podRules = (webhook['rules'] as Rule[]).filter(r => r.apiGroups.includes('') && r.resources.includes('pods'));
  if (podRules.length !== 1) throw new Error(`${SOURCES.webhook}: expected one rule for pods, found ${podRules.length}`);
  const {variables, validation, message} = policyExpressions(config, injectorNamespace);
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    // Labels: the profiles' labels component puts the common ones on every object, these included.
    metadata: {name: POLICY_NAME},
    spec: {
      failurePolicy: 'Ignore',
      matchConstraints: {
        // CREATE only, whatever the webhook's rule grows into: refusing an UPDATE of a pod that exists
        // would block its controller's and the kubelet's writes, and fix no missed injection.
        resourceRules: podRules.map(r => ({...r, operations: ['CREATE'], resources: ['pods']})),
        matchPolicy: webhook['matchPolicy'],
        namespaceSelector: webhook['namespaceSelector'],
        objectSelector: webhook['objectSelector'],
      },
      variables,
      validations: [
        {
          expression: validation,
          reason: 'Forbidden',
          message: `the NSM sidecar injector did not process this pod, which asks for network services; a controller retries it, a bare pod must be created again; check \`kubectl -n ${injectorNamespace} get pods\``,
          messageExpression: message,
        },
      ],
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: {name: POLICY_NAME},
    spec: {policyName: POLICY_NAME, validationActions: ['Deny']},
  };
  return [policy, binding];
}

const HEADER = ` Generated by scripts/admission-policy.ts from manifests/base/webhook.yaml (which pods the webhook is
 sent) and manifests/base/config.yaml (annotation names, injected containers): do not edit. Refresh:
 REFRESH_GOLDEN=1 npm test (test/admission-policy.test.ts fails while this file is stale).

 No silent misses (docs/reliability.md, "Failure modes"). The webhook's failurePolicy is Ignore, so
 while the injector is down, starting or unreachable, a pod that asks for network services would be
 stored without its sidecars. This policy, evaluated by the apiserver itself (CEL, no call out, so it
 works while the injector is down), refuses such a pod at CREATE instead; its controller (ReplicaSet,
 Job...) creates it again with backoff, and once the injector answers the new pod is injected. Pods
 that don't ask, and every pod the webhook is never sent (excluded namespaces, the opt-out label),
 never match, so an outage of the injector blocks nothing else. Needs Kubernetes 1.30+.`;

const COMMENTS: Record<string, string> = {
  failurePolicy: ` Ignore: should the policy itself fail (a CEL error, an apiserver without a function it uses), pods
 are admitted, as the webhook's own failurePolicy does; Fail would block every pod it matches.`,
  matchConstraints: ` Exactly the pods the webhook is sent: its rule for pods and its selectors, copied.`,
  variables: ` The webhook's decision rules, in CEL: see scripts/admission-policy.ts for the core functions each mirrors.`,
  validations: ` reason Forbidden: HTTP 403, "... is forbidden: ValidatingAdmissionPolicy 'nsm-sidecar-injector'
 with binding 'nsm-sidecar-injector' denied request: <the message>".`,
};

const BINDING_COMMENT = ` Deny refuses the pod. Softer: [Warn] (the pod is created uninjected, kubectl prints the message),
 [Audit] (an audit annotation only), or both. Delete this binding to turn the policy off.`;

/** Puts `comments[key]` above each such key of the map at `path`. */
function commentKeys(doc: Document, path: string[], comments: Record<string, string>): void {
  const map = doc.getIn(path, true) as Node | undefined;
  if (!isMap(map)) throw new Error(`${path.join('.')} is not a map`);
  for (const pair of map.items) {
    const comment = isScalar(pair.key) ? comments[String(pair.key.value)] : undefined;
    if (comment !== undefined && isScalar(pair.key)) pair.key.commentBefore = comment;
  }
}

function render(policy: Record<string, unknown>, binding: Record<string, unknown>): string {
  const policyDoc = new Document(policy);
  policyDoc.commentBefore = HEADER;
  commentKeys(policyDoc, ['spec'], COMMENTS);
  const bindingDoc = new Document(binding);
  commentKeys(bindingDoc, ['spec'], {validationActions: BINDING_COMMENT});
  const options = {lineWidth: 0, blockQuote: 'literal'} as const;
  return `${policyDoc.toString(options)}---\n${bindingDoc.toString(options)}`;
}

export interface GeneratedPolicy {
  readonly path: string;
  readonly source: string;
}

export function generateAdmissionPolicy(sources: PolicySources = readPolicySources()): GeneratedPolicy {
  const [policy, binding] = buildPolicy(sources);
  return {path: POLICY_PATH, source: render(policy, binding)};
}
