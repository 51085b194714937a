/**
 * One table of pods, run through the webhook's decision rules offline (test/admission-policy.test.ts:
 * the webhook's selectors, then the core) and through the ValidatingAdmissionPolicy on a real
 * kube-apiserver (test/e2e/admission-policy.e2e.test.ts). Each row says whether the policy refuses the
 * pod when nothing injected it; that is exactly when the webhook would have injected it. A rule changed
 * on one side only makes one of the two suites fail.
 */
import type {Container, Pod} from 'kubernetes-types/core/v1';

const NSM = 'networkservicemesh.io';
const STATUS = 'sidecar-injector.networkservicemesh.io/status';
const OPT_OUT = {'sidecar-injector.networkservicemesh.io/injection': 'disabled'};
const ASK = 'kernel://icmp-responder/nsm-1';

export interface CaseNamespace {
  readonly name: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export type CaseNamespaceKey = 'plain' | 'asks' | 'asksBlank' | 'optedOut' | 'excluded';

/** The namespaces of the table; the e2e suite creates them, the unit test gives their metadata to the core. */
export const CASE_NAMESPACES: Readonly<Record<CaseNamespaceKey, CaseNamespace>> = {
  plain: {name: 'vap-plain'},
  asks: {name: 'vap-asks', annotations: {[NSM]: 'kernel://ns-wide/nsm-1'}},
  asksBlank: {name: 'vap-asks-blank', annotations: {[NSM]: ' \t'}},
  optedOut: {name: 'vap-opted-out', labels: OPT_OUT, annotations: {[NSM]: 'kernel://ns-wide/nsm-1'}},
  // Listed in the webhook's namespaceSelector as never sent; asking changes nothing.
  excluded: {name: 'nsm-system', annotations: {[NSM]: 'kernel://ns-wide/nsm-1'}},
};

export interface PolicyCase {
  readonly title: string;
  readonly namespace: CaseNamespaceKey;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly containers?: Container[];
  readonly initContainers?: Container[];
  /** Refused by the policy when nothing injected it; the webhook injects exactly these. */
  readonly refused: boolean;
}

const app: Container = {name: 'app', image: 'alpine:3.20'};
const nsmInit = (image = 'ghcr.io/networkservicemesh/cmd-nsc-init:v1.17.0'): Container => ({name: 'cmd-nsc-init', image});
const nsmSidecar = (image = 'ghcr.io/networkservicemesh/cmd-nsc:v1.17.0'): Container => ({name: 'cmd-nsc', image});

export const POLICY_CASES: readonly PolicyCase[] = [
  {title: 'no annotation', namespace: 'plain', refused: false},
  {title: 'its own annotation', namespace: 'plain', annotations: {[NSM]: ASK}, refused: true},
  {title: 'an empty own annotation', namespace: 'plain', annotations: {[NSM]: ''}, refused: false},
  {title: 'an own annotation of ASCII blanks', namespace: 'plain', annotations: {[NSM]: ' \t\n\r'}, refused: false},
  // String.prototype.trim's set, not Go's strings.TrimSpace (CEL's trim): U+FEFF is blank, U+0085 is not.
  {title: 'an own annotation of Unicode blanks (NBSP, ideographic space, BOM)', namespace: 'plain', annotations: {[NSM]: '\u00a0\u3000\ufeff\u2028'}, refused: false},
  {title: 'an own annotation holding U+0085 only (not blank for trim())', namespace: 'plain', annotations: {[NSM]: '\u0085'}, refused: true},
  {title: 'its own annotation and the opt-out label', namespace: 'plain', labels: OPT_OUT, annotations: {[NSM]: ASK}, refused: false},
  {title: 'its own annotation and the label set to another value', namespace: 'plain', labels: {'sidecar-injector.networkservicemesh.io/injection': 'enabled'}, annotations: {[NSM]: ASK}, refused: true},
  {title: 'its own annotation and our status annotation', namespace: 'plain', annotations: {[NSM]: ASK, [STATUS]: '{"config":"0123abcd"}'}, refused: false},
  {title: 'its own annotation and an empty status annotation', namespace: 'plain', annotations: {[NSM]: ASK, [STATUS]: ''}, refused: false},
  {title: "its own annotation and NSM's containers (NSM's own webhook injected it)", namespace: 'plain', annotations: {[NSM]: ASK}, initContainers: [nsmInit()], containers: [app, nsmSidecar()], refused: false},
  {title: 'its own annotation and cmd-nsc by digest', namespace: 'plain', annotations: {[NSM]: ASK}, containers: [app, nsmSidecar('ghcr.io/networkservicemesh/cmd-nsc@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef')], refused: false},
  {title: 'its own annotation and cmd-nsc by tag and digest', namespace: 'plain', annotations: {[NSM]: ASK}, containers: [app, nsmSidecar('ghcr.io/networkservicemesh/cmd-nsc:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef')], refused: false},
  {title: 'its own annotation and cmd-nsc as a native sidecar', namespace: 'plain', annotations: {[NSM]: ASK}, initContainers: [{...nsmSidecar(), restartPolicy: 'Always'}], refused: false},
  {title: 'its own annotation and only cmd-nsc-init, among the containers', namespace: 'plain', annotations: {[NSM]: ASK}, containers: [app, nsmInit('ghcr.io/networkservicemesh/cmd-nsc-init')], refused: false},
  {title: 'its own annotation and a container named cmd-nsc of another image', namespace: 'plain', annotations: {[NSM]: ASK}, containers: [app, nsmSidecar('example.com/cmd-nsc:v1.18.0')], refused: true},
  {title: "its own annotation and cmd-nsc running cmd-nsc-init's image", namespace: 'plain', annotations: {[NSM]: ASK}, containers: [app, nsmSidecar('ghcr.io/networkservicemesh/cmd-nsc-init:v1.18.0')], refused: true},
  {title: 'its own annotation and a cmd-nsc image whose tag holds a slash (another repository)', namespace: 'plain', annotations: {[NSM]: ASK}, containers: [app, nsmSidecar('ghcr.io/networkservicemesh/cmd-nsc:v1/x')], refused: true},
  {title: "its own annotation and NSM's image under another container name", namespace: 'plain', annotations: {[NSM]: ASK}, containers: [app, {name: 'nsc', image: 'ghcr.io/networkservicemesh/cmd-nsc:v1.18.0'}], refused: true},
  {title: 'no annotation, in a namespace that asks', namespace: 'asks', refused: true},
  {title: 'its own annotation, in a namespace that asks', namespace: 'asks', annotations: {[NSM]: ASK}, refused: true},
  {title: 'an empty own annotation (an opt-out), in a namespace that asks', namespace: 'asks', annotations: {[NSM]: ''}, refused: false},
  {title: 'an own annotation of blanks, in a namespace that asks', namespace: 'asks', annotations: {[NSM]: '  '}, refused: false},
  {title: 'the opt-out label, in a namespace that asks', namespace: 'asks', labels: OPT_OUT, refused: false},
  {title: 'our status annotation, in a namespace that asks', namespace: 'asks', annotations: {[STATUS]: '{}'}, refused: false},
  {title: 'no annotation, in a namespace whose annotation is blank', namespace: 'asksBlank', refused: false},
  {title: 'its own annotation, in a namespace whose annotation is blank', namespace: 'asksBlank', annotations: {[NSM]: ASK}, refused: true},
  {title: 'no annotation, in a namespace that asks and opts out', namespace: 'optedOut', refused: false},
  {title: 'its own annotation, in a namespace that opts out', namespace: 'optedOut', annotations: {[NSM]: ASK}, refused: false},
  {title: 'no annotation, in an excluded namespace that asks', namespace: 'excluded', refused: false},
  {title: 'its own annotation, in an excluded namespace', namespace: 'excluded', annotations: {[NSM]: ASK}, refused: false},
];

/** The pod of a row, as its author would create it (a generated name: the e2e suite creates it for real). */
export function casePod(c: PolicyCase, name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: CASE_NAMESPACES[c.namespace].name,
      ...(c.labels ? {labels: c.labels} : {}),
      ...(c.annotations ? {annotations: c.annotations} : {}),
    },
    spec: {
      containers: c.containers ?? [app],
      ...(c.initContainers ? {initContainers: c.initContainers} : {}),
    },
  };
}
