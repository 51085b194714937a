/**
 * The bundled default config, parsed at development time (scripts/default-config.ts): the committed
 * module matches config.yaml (a golden-file check), and parseConfig gives for that text exactly what
 * the YAML parser gives.
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {checkConfig, parseConfig, parseConfigData} from '../functions/config/parse';
import {DEFAULT_CONFIG_FILE, GENERATED_PATH, generateDefaultConfig} from '../scripts/default-config';

const REFRESH = process.env['REFRESH_GOLDEN'] === '1';
const text = readFileSync(DEFAULT_CONFIG_FILE, 'utf8');

describe(GENERATED_PATH, () => {
  it(`is generated from the current ${DEFAULT_CONFIG_FILE}`, () => {
    const source = generateDefaultConfig(text);
    if (REFRESH) writeFileSync(GENERATED_PATH, source);
    expect(existsSync(GENERATED_PATH)).toBe(true);
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(source);
  });

  it('gives parseConfig the very config (and hash) the YAML parser reads from that text', () => {
    const viaYaml = parseConfigData(text);
    if (!viaYaml.ok) throw new Error(viaYaml.errors.join('; '));
    const expected = checkConfig(viaYaml.value);
    expect(parseConfig(text)).toEqual(expected);
    expect(expected.ok).toBe(true);
  });

  it('reads any other text with the YAML parser: a comment more reads the same, a changed value reads changed', () => {
    const other = parseConfig(`${text}\n# a comment of the operator's\n`);
    expect(other).toEqual(parseConfig(text));
    const changed = parseConfig(text.replace('nativeSidecars: false', 'nativeSidecars: true'));
    expect(changed.ok && changed.value.config.nativeSidecars).toBe(true);
  });
});
