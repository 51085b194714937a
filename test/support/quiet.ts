// Modules that log at import (functions/index.ts) would fill the test output; tests that check
// logs build their own logger.
process.env['LOG_LEVEL'] ??= 'error';
