#!/usr/bin/env node
// Validates skaffold.yaml against Skaffold's published JSON schema, offline (no Skaffold binary can
// be installed here). Run by .ci/run; not part of `npm test`, because the schema lives in the
// shared folder beside the checkout (<repo>/../shared/schemas/), which a plain clone doesn't have.
//
//   node scripts/validate-skaffold.mjs [skaffold.yaml] [schema.json]
//
// Exit 0: valid. Exit 1: invalid, each error printed with its path. Exit 2: cannot run (a file is
// missing or unreadable).
import {readFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import Ajv from 'ajv';
import {parseAllDocuments} from 'yaml';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const configPath = resolve(process.argv[2] ?? join(repo, 'skaffold.yaml'));

function fail(code, message) {
  process.stderr.write(`validate-skaffold: ${message}\n`);
  process.exit(code);
}

let documents;
try {
  // Strict YAML: a duplicated key (which Skaffold would silently resolve one way) is an error too.
  documents = parseAllDocuments(readFileSync(configPath, 'utf8'), {uniqueKeys: true, prettyErrors: true});
} catch (error) {
  fail(2, `cannot read ${configPath}: ${error.message}`);
}
const yamlErrors = documents.flatMap(d => d.errors);
if (yamlErrors.length > 0) fail(1, `${configPath} is not valid YAML:\n${yamlErrors.map(e => `  ${e.message}`).join('\n')}`);
if (documents.length !== 1) fail(1, `${configPath} must hold exactly one document (found ${documents.length})`);
const config = documents[0].toJS();

// The schema matching the file's apiVersion, e.g. skaffold/v4beta13 -> skaffold-v4beta13.schema.json.
const apiVersion = config?.apiVersion;
if (typeof apiVersion !== 'string' || !/^skaffold\/v\w+$/.test(apiVersion)) fail(1, `apiVersion must be skaffold/<version>, not ${JSON.stringify(apiVersion)}`);
const schemaPath = resolve(process.argv[3] ?? join(repo, '..', 'shared', 'schemas', `skaffold-${apiVersion.split('/')[1]}.schema.json`));
let schema;
try {
  schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
} catch (error) {
  fail(2, `cannot read the schema ${schemaPath}: ${error.message}`);
}

// The schema is draft-07 (Ajv's default draft). strict: false because it carries Skaffold's own
// annotation keywords (x-intellij-html-description, preferredOrder), which strict mode rejects;
// they don't constrain anything. Every real constraint (types, enums, additionalProperties: false
// on each object) is still enforced.
const ajv = new Ajv({strict: false, allErrors: true});
const validate = ajv.compile(schema);
if (!validate(config)) {
  // Artifact and build types are anyOf-unions: an error inside one shows up once per branch. Print
  // each distinct message once.
  const lines = [...new Set(validate.errors.map(e => `  ${e.instancePath || '/'}: ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`))];
  fail(1, `${configPath} does not match ${schemaPath}:\n${lines.join('\n')}`);
}
if (config.kind !== 'Config') fail(1, `kind must be Config, not ${JSON.stringify(config.kind)}`);
process.stdout.write(`validate-skaffold: ${configPath} is valid ${apiVersion}\n`);
