// Runs the real-cluster test files in the order of their names (01-install first), not jest's
// duration-based order: they share one cluster and build on each other's state.
const Sequencer = require('@jest/test-sequencer').default;

class ByName extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => a.path.localeCompare(b.path));
  }
}

module.exports = ByName;
