/**
 * Lets a plain node bench script require the TypeScript test harness (test/e2e/, test/support/):
 * each .ts file is compiled as it is required, the way ts-jest does for the suites (no type check).
 */
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const {outputText} = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true},
  });
  module._compile(outputText, filename);
};
