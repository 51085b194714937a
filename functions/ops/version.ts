/** The injector's version, from the package.json above this file (functions/ under ts-jest, dist/functions/ built). */
import {existsSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';

export function injectorVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const version = (JSON.parse(readFileSync(file, 'utf8')) as {version?: unknown}).version;
      return typeof version === 'string' ? version : 'unknown';
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
