/**
 * A document's own layout, and new YAML text written in it. nsm-inject inserts what it injects into
 * the user's text instead of re-printing the document (splice.ts), so the new lines must look like
 * the user's: the same indentation step, sequences indented under their key or not (`- name` at the
 * key's column, as kubectl and kustomize print them), the same offset after `-`, and the same line
 * endings. The yaml library prints a whole document one way only; here each insertion is written
 * with what the document itself does most.
 */
import {isMap, isNode, isScalar, isSeq, stringify, visit, type Document, type Pair} from 'yaml';

export interface Layout {
  /** Spaces from a key to the keys of the map under it. */
  readonly step: number;
  /** Spaces from a key to the `-` of the block sequence under it (0: `- x` at the key's column). */
  readonly seqIndent: number;
  /** Spaces from a `-` to the item's content. */
  readonly itemOffset: number;
  readonly eol: '\n' | '\r\n';
  /** The document is JSON (a flow map, every key double-quoted): what is added is JSON too. */
  readonly json: boolean;
}

const DEFAULT: Omit<Layout, 'eol' | 'json'> = {step: 2, seqIndent: 2, itemOffset: 2};

/** Column of an offset (0-based). */
export function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** The most frequent of the samples; ties go to the first seen. */
function mostCommon(samples: readonly number[], fallback: number): number {
  const counts = new Map<number, number>();
  for (const s of samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  let best = fallback;
  let bestCount = 0;
  for (const [value, count] of counts) {
    if (count > bestCount) [best, bestCount] = [value, count];
  }
  return best;
}

/** A block map or list under a key of a block map, and its distance in columns from that key. */
function nestedBlock(pair: Pair, parent: unknown, text: string): {kind: 'map' | 'seq'; distance: number} | undefined {
  const keyStart = isNode(pair.key) ? pair.key.range?.[0] : undefined;
  const value = pair.value;
  if (!isMap(parent) || parent.flow === true || keyStart === undefined) return undefined;
  if ((!isMap(value) && !isSeq(value)) || value.flow === true || !value.range) return undefined;
  return {kind: isMap(value) ? 'map' : 'seq', distance: columnOf(text, value.range[0]) - columnOf(text, keyStart)};
}

/** Measures the document's block collections (flow ones say nothing about indentation). */
export function detectLayout(doc: Document, text: string): Layout {
  const steps: number[] = [];
  const seqIndents: number[] = [];
  const itemOffsets: number[] = [];
  let json = isMap(doc.contents) && doc.contents.flow === true;
  visit(doc, {
    Pair(_key, pair, path) {
      if (!isScalar(pair.key) || pair.key.type !== 'QUOTE_DOUBLE') json = false;
      const nested = nestedBlock(pair, path[path.length - 1], text);
      if (nested?.kind === 'map' && nested.distance > 0) steps.push(nested.distance);
      if (nested?.kind === 'seq' && nested.distance >= 0) seqIndents.push(nested.distance);
    },
    Seq(_key, seq) {
      if (seq.flow === true || !seq.range) return;
      const dash = columnOf(text, seq.range[0]);
      for (const item of seq.items) {
        if (isMap(item) && item.flow !== true && item.range) itemOffsets.push(columnOf(text, item.range[0]) - dash);
      }
    },
  });
  const step = mostCommon(steps, DEFAULT.step);
  return {
    step,
    seqIndent: mostCommon(seqIndents, step),
    itemOffset: mostCommon(itemOffsets.filter(o => o > 0), DEFAULT.itemOffset),
    eol: text.includes('\r\n') ? '\r\n' : '\n',
    json,
  };
}

const isEmptyCollection = (value: unknown): boolean =>
  (Array.isArray(value) && value.length === 0) || (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);

const pad = (n: number): string => ' '.repeat(n);

/** A scalar (or an empty collection) as one line of YAML, quoted only where YAML needs it. */
export function scalarText(value: unknown): string {
  if (Array.isArray(value)) return '[]';
  if (typeof value === 'object' && value !== null) return '{}';
  const text = stringify(value, {lineWidth: 0}).replace(/\n$/, '');
  // A multi-line string would come back as a block scalar; a JSON string stays on one line.
  return text.includes('\n') ? JSON.stringify(value) : text;
}

/** A value in flow style, on one line: what goes into the user's `[...]` or `{...}`. */
export function flowText(value: unknown): string {
  return stringify(value, {collectionStyle: 'flow', lineWidth: 0, flowCollectionPadding: false}).replace(/\n$/, '');
}

/**
 * An entry for a flow collection (`key: value`, or an item when key is undefined). JSON stays JSON,
 * laid out like the file's own when its entries are one per line (`col`: the entries' column);
 * YAML flow goes on one line.
 */
export function flowEntry(key: string | undefined, value: unknown, col: number | undefined, layout: Layout): string {
  if (!layout.json) return key === undefined ? flowText(value) : `${scalarText(key)}: ${flowText(value)}`;
  const written = col === undefined ? JSON.stringify(value) : JSON.stringify(value, null, layout.step).split('\n').join(layout.eol + pad(col));
  return key === undefined ? written : `${JSON.stringify(key)}: ${written}`;
}

/** `key: value` at column `col`, the value in block style under it. */
export function pairLines(key: string, value: unknown, col: number, layout: Layout): string[] {
  const head = `${pad(col)}${scalarText(key)}:`;
  if (typeof value !== 'object' || value === null || isEmptyCollection(value)) return [`${head} ${scalarText(value)}`];
  return [head, ...valueLines(value, col, layout)];
}

/** The lines of a non-empty collection that belongs to a key at column `keyCol`. */
function valueLines(value: object, keyCol: number, layout: Layout): string[] {
  if (Array.isArray(value)) return value.flatMap(item => itemLines(item, keyCol + layout.seqIndent, layout));
  return Object.entries(value).flatMap(([k, v]) => pairLines(k, v, keyCol + layout.step, layout));
}

/** One sequence item with its `-` at column `dashCol`. */
export function itemLines(item: unknown, dashCol: number, layout: Layout): string[] {
  if (typeof item !== 'object' || item === null || isEmptyCollection(item)) return [`${pad(dashCol)}- ${scalarText(item)}`];
  const contentCol = dashCol + layout.itemOffset;
  const lines = Array.isArray(item) ? item.flatMap(i => itemLines(i, contentCol, layout)) : Object.entries(item).flatMap(([k, v]) => pairLines(k, v, contentCol, layout));
  // The first line of the content goes on the `-` line.
  const [first = '', ...rest] = lines;
  return [`${pad(dashCol)}-${pad(layout.itemOffset - 1)}${first.slice(contentCol)}`, ...rest];
}
