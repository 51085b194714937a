/**
 * JSON Schema of the injector config (the YAML in the ConfigMap). Ajv compiles it into the
 * validator; nothing validates the config by hand except the cross-references a schema can't
 * express (see parse.ts).
 *
 * Kubernetes sub-objects (resources, securityContext, volume sources) are checked for their outer
 * shape only: the apiserver validates them for real when the injected pod is stored, and the
 * end-to-end suite proves the defaults pass.
 */

import {INJECTOR_VALUES, POD_SECURITY_LEVELS, WORKLOAD_MODES} from '../core/config';

const dnsLabel = {type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63} as const;
// A qualified name as Kubernetes accepts for label and annotation keys: optional DNS prefix, then a name.
const qualifiedName = {
  type: 'string',
  pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
  maxLength: 316,
} as const;
const object = {type: 'object'} as const;

const envEntry = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: {type: 'string', minLength: 1},
    value: {type: 'string'},
    valueFrom: object,
    injectorValue: {enum: INJECTOR_VALUES},
  },
  // One source of value at most: a literal, a Kubernetes valueFrom, or the injector's own.
  not: {anyOf: [{required: ['value', 'valueFrom']}, {required: ['value', 'injectorValue']}, {required: ['valueFrom', 'injectorValue']}]},
} as const;

const volumeMount = {
  type: 'object',
  required: ['name', 'mountPath'],
  additionalProperties: false,
  properties: {
    name: dnsLabel,
    mountPath: {type: 'string', pattern: '^/'},
    readOnly: {type: 'boolean'},
    subPath: {type: 'string'},
    mountPropagation: {enum: ['None', 'HostToContainer', 'Bidirectional']},
  },
} as const;

const container = {
  type: 'object',
  required: ['name', 'image'],
  additionalProperties: false,
  properties: {
    name: dnsLabel,
    image: {type: 'string', minLength: 1, pattern: '^\\S+$'},
    imagePullPolicy: {enum: ['Always', 'IfNotPresent', 'Never']},
    command: {type: 'array', items: {type: 'string'}},
    args: {type: 'array', items: {type: 'string'}},
    resources: {
      type: 'object',
      additionalProperties: false,
      properties: {
        requests: {type: 'object', additionalProperties: {type: ['string', 'number']}},
        limits: {type: 'object', additionalProperties: {type: ['string', 'number']}},
      },
    },
    securityContext: object,
    env: {type: 'array', items: envEntry},
    volumeMounts: {type: 'array', items: volumeMount},
  },
} as const;

const volume = {
  type: 'object',
  required: ['name'],
  properties: {name: dnsLabel},
  // Exactly one volume source besides the name, e.g. hostPath or csi.
  minProperties: 2,
  maxProperties: 2,
} as const;

const podSecurityProfile = {
  type: 'object',
  additionalProperties: false,
  properties: {
    volumes: {type: 'array', items: volume},
    securityContext: object,
  },
} as const;

export const CONFIG_SCHEMA = {
  $id: 'https://networkservicemesh.io/schemas/sidecar-injector-config.json',
  type: 'object',
  additionalProperties: false,
  required: ['annotation', 'statusAnnotation', 'initContainers', 'sidecars'],
  properties: {
    annotation: qualifiedName,
    statusAnnotation: qualifiedName,
    configHashLabel: {...qualifiedName, default: 'sidecar-injector.networkservicemesh.io/config-hash'},
    workloads: {enum: WORKLOAD_MODES, default: 'pods'},
    nativeSidecars: {type: 'boolean', default: false},
    podLabels: {type: 'object', propertyNames: qualifiedName, additionalProperties: {type: 'string', maxLength: 63}, default: {}},
    env: {type: 'array', items: envEntry, default: []},
    volumeMounts: {type: 'array', items: volumeMount, default: []},
    initContainers: {type: 'array', items: container},
    sidecars: {type: 'array', items: container},
    volumes: {type: 'array', items: volume, default: []},
    podSecurityDefault: {enum: POD_SECURITY_LEVELS, default: 'privileged'},
    podSecurity: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(POD_SECURITY_LEVELS.map(level => [level, podSecurityProfile])),
      default: {},
    },
    sriovTokenLabel: {type: 'string', pattern: '^[A-Za-z0-9_.-]*$', default: 'sriovToken'},
    sriovAllowedPools: {type: 'array', items: {type: 'string', minLength: 1}, uniqueItems: true},
  },
} as const;
