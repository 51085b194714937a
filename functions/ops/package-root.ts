/**
 * The folder holding the project's package.json, found from this file: functions/ under ts-jest,
 * dist/functions/ when built, /app in the image. The bundled config and the version come from there.
 */
import {existsSync} from 'node:fs';
import {dirname, join} from 'node:path';

export function packageRoot(): string | undefined {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
