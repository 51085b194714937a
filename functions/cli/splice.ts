/**
 * The webhook's JSON patch applied to a document's own text, by inserting new lines, never by
 * printing the document again: the user's lines (indentation, quoting, comments, blank lines,
 * key order, trailing spaces) stay byte for byte, so a GitOps diff shows only what was injected.
 * Only a flow collection (`[...]`, `{...}`) that receives something changes on its line.
 *
 * The patches nsm-inject applies only add (a key to a map, an item at the end of a list) or set a
 * missing value; anything else, or a result that doesn't parse back to the injected object, gives
 * undefined and the caller prints the document anew instead. The result is checked, not trusted.
 */
import {isDeepStrictEqual} from 'node:util';
import type {Operation} from 'fast-json-patch';
import {isMap, isNode, isScalar, isSeq, parseDocument, type Document, type Pair, type YAMLMap, type YAMLSeq} from 'yaml';
import {unescapePointerToken} from '../core/json';
import {columnOf, flowEntry, flowText, itemLines, pairLines, scalarText, type Layout} from './layout';

/** Replace text[start, end) with `text`. */
interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** How the CLI parses: no library warnings on stderr (documents.ts says what matters in its own words). */
export const PARSE_OPTIONS = {logLevel: 'error', prettyErrors: false} as const;
export const TO_JS_OPTIONS = {maxAliasCount: 100} as const;

type Collection = YAMLMap<unknown, unknown> | YAMLSeq<unknown>;
type Range = readonly [number, number, number];

const rangeOf = (node: unknown): Range | undefined => (isNode(node) && node.range ? node.range : undefined);

/** A map entry: the map and the pair. */
interface Holder {
  readonly map: YAMLMap<unknown, unknown>;
  readonly pair: Pair<unknown, unknown>;
}

/**
 * The collection a pointer's last token is applied to (undefined if the path leaves collections),
 * and the map entry holding it, if a map holds it.
 */
function parentOf(doc: Document, tokens: readonly string[]): {parent: Collection; holder: Holder | undefined} | undefined {
  let node: unknown = doc.contents;
  let holder: Holder | undefined;
  for (const token of tokens) {
    const pair = isMap(node) ? pairOf(node, token) : undefined;
    holder = isMap(node) && pair !== undefined ? {map: node, pair} : undefined;
    if (isMap(node)) node = pair?.value;
    else if (isSeq(node)) node = node.items[Number(token)];
    else return undefined;
  }
  return isMap(node) || isSeq(node) ? {parent: node, holder} : undefined;
}

/**
 * `[]` or `{}` under a block map's key shows no choice of style (it is the only way to write an
 * empty one): its first entry turns it into a block, as the rest of the document is written.
 */
function fillEmptyFlow(text: string, parent: Collection, holder: Holder | undefined, last: string, value: unknown, layout: Layout): Edit | undefined {
  if (parent.flow !== true || parent.items.length > 0 || holder === undefined || holder.map.flow === true) return undefined;
  const filled = isSeq(parent) ? [value] : {[last]: value};
  const old = rangeOf(parent);
  const keyStart = rangeOf(holder.pair.key)?.[0];
  if (old === undefined || keyStart === undefined || siblingsAreFlow(holder.map, filled)) return undefined;
  return setBlockValue(text, old, columnOf(text, keyStart), filled, layout);
}

function pairOf(map: YAMLMap<unknown, unknown>, key: string): Pair<unknown, unknown> | undefined {
  return map.items.find(p => isScalar(p.key) && String(p.key.value) === key);
}

/** Where a block collection's last line ends: new lines go there. */
function blockInsert(text: string, end: number, lines: readonly string[], layout: Layout): Edit {
  const lead = end > 0 && text[end - 1] !== '\n' ? layout.eol : '';
  return {start: end, end, text: lead + lines.map(l => l + layout.eol).join('')};
}

/** Adds one entry (`key: value`, or an item when key is undefined) at the end of a `[...]` or `{...}`. */
function flowInsert(text: string, coll: Collection, key: string | undefined, value: unknown, layout: Layout): Edit | undefined {
  const range = rangeOf(coll);
  if (range === undefined || !']}'.includes(text[range[1] - 1] ?? '')) return undefined;
  const last: unknown = coll.items[coll.items.length - 1];
  if (last === undefined) return {start: range[1] - 1, end: range[1] - 1, text: flowEntry(key, value, undefined, layout)};
  const lastStart = rangeOf(isMap(coll) ? (last as Pair).key : last)?.[0];
  const lastEnd = rangeOf(isMap(coll) ? ((last as Pair).value ?? (last as Pair).key) : last)?.[1];
  if (lastStart === undefined || lastEnd === undefined) return undefined;
  // Entries one per line stay one per line; entries on one line stay on one line.
  if (text.lastIndexOf('\n', lastStart) < range[0]) return {start: lastEnd, end: lastEnd, text: `, ${flowEntry(key, value, undefined, layout)}`};
  const col = columnOf(text, lastStart);
  return {start: lastEnd, end: lastEnd, text: `,${layout.eol}${' '.repeat(col)}${flowEntry(key, value, col, layout)}`};
}

/**
 * The user's choice for a new block map entry: a list or map goes in flow style when its siblings of
 * the same kind are all flow (`containers: [...]` gets `initContainers: [...]` beside it).
 */
function siblingsAreFlow(map: YAMLMap<unknown, unknown>, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const same = map.items.map(p => p.value).filter(v => (Array.isArray(value) ? isSeq(v) : isMap(v))) as Collection[];
  return same.length > 0 && same.every(v => v.flow === true);
}

function addPair(text: string, map: YAMLMap<unknown, unknown>, key: string, value: unknown, layout: Layout): Edit | undefined {
  if (map.flow === true) return flowInsert(text, map, key, value, layout);
  const range = rangeOf(map);
  if (range === undefined) return undefined;
  const col = columnOf(text, range[0]);
  const lines = siblingsAreFlow(map, value) ? [`${' '.repeat(col)}${scalarText(key)}: ${flowText(value)}`] : pairLines(key, value, col, layout);
  return blockInsert(text, range[1], lines, layout);
}

function appendItem(text: string, seq: YAMLSeq<unknown>, value: unknown, layout: Layout): Edit | undefined {
  if (seq.flow === true) return flowInsert(text, seq, undefined, value, layout);
  const range = rangeOf(seq);
  if (range === undefined) return undefined;
  const dash = columnOf(text, range[0]);
  // This list's own offset after `-`, if its first item shows it.
  const first = seq.items[0];
  const firstStart = isMap(first) && first.flow !== true ? rangeOf(first)?.[0] : undefined;
  const itemOffset = firstStart !== undefined && columnOf(text, firstStart) > dash ? columnOf(text, firstStart) - dash : layout.itemOffset;
  return blockInsert(text, range[1], itemLines(value, dash, {...layout, itemOffset}), layout);
}

/** Sets a value that is missing or a scalar (`labels:` or `labels: null`); collections are never replaced. */
function setValue(text: string, map: YAMLMap<unknown, unknown>, pair: Pair<unknown, unknown>, value: unknown, layout: Layout): Edit | undefined {
  const old = rangeOf(pair.value);
  const keyStart = rangeOf(pair.key)?.[0];
  if (old === undefined || keyStart === undefined || !isScalar(pair.value)) return undefined;
  const collection = typeof value === 'object' && value !== null && Object.keys(value).length > 0;
  if (map.flow !== true && collection && !siblingsAreFlow(map, value)) return setBlockValue(text, old, columnOf(text, keyStart), value, layout);
  const written = map.flow === true || collection ? flowEntry(undefined, value, undefined, layout) : scalarText(value);
  return {start: old[0], end: old[1], text: old[0] === old[1] ? ` ${written}` : written};
}

/** A block value starts on the line after its key: drop the scalar (and the spaces before it), keep any comment. */
function setBlockValue(text: string, old: Range, keyCol: number, value: unknown, layout: Layout): Edit {
  let start = old[0];
  while (start > 0 && text[start - 1] === ' ') start--;
  let lineEnd = text.indexOf('\n', old[1]);
  if (lineEnd === -1) lineEnd = text.length;
  if (text[lineEnd - 1] === '\r') lineEnd--;
  const [, ...lines] = pairLines('k', value, keyCol, layout);
  return {start, end: lineEnd, text: text.slice(old[1], lineEnd) + lines.map(l => layout.eol + l).join('')};
}

function editFor(doc: Document, text: string, op: Operation, layout: Layout): Edit | undefined {
  if (op.op !== 'add' && op.op !== 'replace') return undefined;
  const tokens = op.path.split('/').slice(1).map(unescapePointerToken);
  const last = tokens.pop();
  const located = parentOf(doc, tokens);
  if (last === undefined || located === undefined) return undefined;
  const {parent, holder} = located;
  const filled = op.op === 'add' ? fillEmptyFlow(text, parent, holder, last, op.value, layout) : undefined;
  if (filled !== undefined) return filled;
  if (isMap(parent)) {
    const pair = pairOf(parent, last);
    if (pair !== undefined) return setValue(text, parent, pair, op.value, layout);
    return op.op === 'add' ? addPair(text, parent, last, op.value, layout) : undefined;
  }
  const appending = last === '-' || Number(last) === parent.items.length;
  return op.op === 'add' && appending ? appendItem(text, parent, op.value, layout) : undefined;
}

const parse = (text: string): Document => parseDocument(text, PARSE_OPTIONS);

/**
 * `text` (one document) with `ops` applied, or undefined when that can't be done by insertion alone
 * or the result isn't `expected`.
 */
export function spliceDocument(text: string, ops: readonly Operation[], expected: unknown, layout: Layout): string | undefined {
  let out = text;
  for (const op of ops) {
    const doc = parse(out);
    if (doc.errors.length > 0) return undefined;
    const edit = editFor(doc, out, op, layout);
    if (edit === undefined) return undefined;
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  }
  const result = parse(out);
  // As JSON: an undefined property in `expected` is no property at all, as in the patch.
  return result.errors.length === 0 && isDeepStrictEqual(result.toJS(TO_JS_OPTIONS), JSON.parse(JSON.stringify(expected))) ? out : undefined;
}
