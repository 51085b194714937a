/**
 * The end-to-end suite: `npm run test:e2e`. A real kube-apiserver and etcd (built once per machine
 * from Go modules by scripts/build-controlplane.sh, in globalSetup) and the function as its own
 * HTTPS process. Each test file starts its own control plane.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e.test.ts'],
  globalSetup: '<rootDir>/test/e2e/support/global-setup.ts',
  transform: {'^.+\\.ts$': ['ts-jest', {tsconfig: 'tsconfig.json'}]},
  testTimeout: 120_000,
  // Two control planes at once fit two cores; more only queue for CPU.
  maxWorkers: 2,
};
