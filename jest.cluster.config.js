/**
 * The real-cluster suite: `npm run test:cluster` (scripts/cluster/test.sh brings the cluster up, builds
 * the image, runs this, and tears the cluster down). Files run one at a time, in name order: they share
 * one cluster and one injector deployment (01 installs it; the others make sure it runs).
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.cluster.test.ts'],
  testSequencer: '<rootDir>/jest.cluster.sequencer.js',
  transform: {'^.+\\.ts$': ['ts-jest', {tsconfig: 'tsconfig.json'}]},
  testTimeout: 600_000,
  maxWorkers: 1,
};
