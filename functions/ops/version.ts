/** The injector's version, from the project's package.json. */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {packageRoot} from './package-root';

export function injectorVersion(): string {
  const root = packageRoot();
  if (root === undefined) return 'unknown';
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {version?: unknown}).version;
  return typeof version === 'string' ? version : 'unknown';
}
