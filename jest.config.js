/** Unit, golden and HTTP tests: `npm test`. The end-to-end suite has its own config (jest.e2e.config.js). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The end-to-end, soak and real-cluster suites have their own configs (jest.e2e.config.js, jest.soak.config.js, jest.cluster.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/soak/', '<rootDir>/test/cluster/'],
  setupFiles: ['<rootDir>/test/support/quiet.ts'],
  transform: {'^.+\\.ts$': ['ts-jest', {tsconfig: 'tsconfig.json'}]},
};
