/** Soak tests: `npm run test:soak` (a few minutes; bounded load on loopback only). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/soak'],
  testMatch: ['**/*.soak.test.ts'],
  transform: {'^.+\\.ts$': ['ts-jest', {tsconfig: 'tsconfig.json'}]},
  testTimeout: 300_000,
  // One at a time: each one loads the machine on purpose.
  maxWorkers: 1,
};
