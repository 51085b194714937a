/** The shell command blocks of the Markdown docs, for the tests that run them (test/docs.test.ts). */
import {readFileSync} from 'node:fs';

export interface CommandBlock {
  readonly doc: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly text: string;
  /** The comment on the line before the fence, if any. */
  readonly mark: string | undefined;
  /** The next fenced block, if it is a ```text block: what the commands print. */
  readonly output: string | undefined;
}

const SHELL = /^\s*```(sh|bash|shell|console)\s*$/;

/** Every shell block of a Markdown file, with its mark and the output block after it. */
export function commandBlocks(doc: string): CommandBlock[] {
  const lines = readFileSync(doc, 'utf8').split('\n');
  const fenceEnd = (from: number): number => lines.findIndex((l, i) => i > from && /^\s*```\s*$/.test(l));
  const blocks: CommandBlock[] = [];
  lines.forEach((line, i) => {
    if (!SHELL.test(line)) return;
    const end = fenceEnd(i);
    const before = lines.slice(0, i).reverse().find(l => l.trim() !== '');
    // The next fenced block, prose between allowed: a ```text one shows what these commands print.
    const next = lines.findIndex((l, k) => k > end && /^\s*```\w+\s*$/.test(l));
    const output = next !== -1 && /^\s*```text\s*$/.test(lines[next] ?? '') ? lines.slice(next + 1, fenceEnd(next)).join('\n') : undefined;
    const mark = /^\s*<!--\s*(.*?)\s*-->\s*$/.exec(before ?? '')?.[1];
    blocks.push({doc, line: i + 1, text: lines.slice(i + 1, end).join('\n'), mark, output});
  });
  return blocks;
}

/** The block of `doc` whose text contains `needle`. */
export function blockWith(doc: string, needle: string): CommandBlock {
  const found = commandBlocks(doc).filter(b => b.text.includes(needle));
  if (found.length !== 1) throw new Error(`${doc}: expected one command block with ${JSON.stringify(needle)}, found ${found.length}`);
  return found[0] as CommandBlock;
}

