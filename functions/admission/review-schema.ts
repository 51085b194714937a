/**
 * JSON Schema of the AdmissionReview envelope: only the fields we read. scripts/validators.ts
 * compiles it (with Ajv's standalone code generation) into review-validator.generated.ts, so the
 * function pays for no schema compilation at cold start; test/validators.test.ts fails when the
 * generated file is stale (refresh with REFRESH_GOLDEN=1 npm test).
 */

export const REVIEW_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;

export const REVIEW_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: {enum: REVIEW_API_VERSIONS},
    kind: {const: 'AdmissionReview'},
    request: {
      type: 'object',
      required: ['uid', 'kind', 'operation'],
      properties: {
        uid: {type: 'string', minLength: 1},
        kind: {
          type: 'object',
          required: ['group', 'kind'],
          properties: {group: {type: 'string'}, version: {type: 'string'}, kind: {type: 'string'}},
        },
        operation: {type: 'string'},
        namespace: {type: 'string'},
        name: {type: 'string'},
        dryRun: {type: 'boolean'},
      },
    },
  },
} as const;
