/**
 * The knative profile on a real cluster: `npm run test:knative` (scripts/cluster/test.sh knative brings up
 * the cluster with CoreDNS, Knative Serving and Traefik, builds the image, runs this, and tears the
 * cluster down). Files run one at a time, in name order, on one cluster and one injector install.
 */
module.exports = {
  ...require('./jest.cluster.config.js'),
  roots: ['<rootDir>/test/cluster/knative-profile'],
  testMatch: ['**/*.knative.test.ts'],
};
