/** The committed standalone validators match their schemas (a golden-file check; see scripts/validators.ts). */
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {generateValidators} from '../scripts/validators';

const REFRESH = process.env['REFRESH_GOLDEN'] === '1';

describe.each(generateValidators())('$path', ({path, source}) => {
  it('is the code generated from the current schema', () => {
    if (REFRESH) writeFileSync(path, source);
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(source);
  });
});
