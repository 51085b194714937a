/**
 * What a reviewer sees in a diff of nsm-inject's output: which of the user's own lines changed. A
 * line of the input counts as kept when it is in a longest common subsequence of the input's and
 * the output's lines (what `diff` shows unchanged); every other input line changed.
 */
import {isCollection, parseAllDocuments, visit} from 'yaml';

/** 1-based numbers of the lines of `before` that `after` does not keep. */
export function changedLines(before: string, after: string): number[] {
  const a = before.split('\n');
  const b = after.split('\n');
  // lcs[i][j]: LCS length of a[i..] and b[j..].
  const lcs = Array.from({length: a.length + 1}, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const changed: number[] = [];
  let [i, j] = [0, 0];
  while (i < a.length) {
    if (j < b.length && a[i] === b[j]) [i, j] = [i + 1, j + 1];
    else if (j < b.length && lcs[i]![j + 1]! >= lcs[i + 1]![j]!) j++;
    else changed.push(++i);
  }
  // A final newline makes an empty last "line"; it is not a line of the user's.
  return changed.filter(n => n <= a.length - (before.endsWith('\n') ? 1 : 0));
}

/** 1-based numbers of the lines that flow collections (`[...]`, `{...}`) of the YAML text span. */
export function flowLines(text: string): Set<number> {
  const lineOf = (offset: number): number => text.slice(0, offset).split('\n').length;
  const lines = new Set<number>();
  for (const doc of parseAllDocuments(text, {logLevel: 'error'})) {
    visit(doc, {
      Node(_key, node) {
        if (!isCollection(node) || node.flow !== true || !node.range) return;
        for (let l = lineOf(node.range[0]); l <= lineOf(node.range[1] - 1); l++) lines.add(l);
      },
    });
  }
  return lines;
}
