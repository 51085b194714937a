/**
 * The CLI's problems in the user's words: one line naming the file (or flag) and what is wrong,
 * exit status 1, never a raw errno message or a stack trace.
 */

/** A problem with the user's input or config: printed as it is, exit status 1. */
export class ManifestError extends Error {}

const FS_PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'no such file or folder (a part of the path is a file)',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a folder',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
};

/** `path: what went wrong`, in words, from a node:fs error. */
export function fsProblem(path: string, error: unknown): ManifestError {
  const code = (error as NodeJS.ErrnoException).code;
  const problem = code === undefined ? undefined : FS_PROBLEMS[code];
  return new ManifestError(`${path}: ${problem ?? (error instanceof Error ? error.message : String(error))}`);
}


/** 1-based line of an offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

const MAX_QUOTED = 120;

/**
 * A file that isn't YAML (or JSON): its first problem with where it is, and how many more there
 * are, instead of the parser's page of errors.
 */
export function yamlProblem(source: string, text: string, errors: ReadonlyArray<{readonly message: string; readonly pos: readonly [number, number]}>): ManifestError {
  const [first] = errors;
  if (first === undefined) return new ManifestError(`${source}: not YAML`);
  const line = lineOf(text, first.pos[0]);
  const column = first.pos[0] - (text.lastIndexOf('\n', first.pos[0] - 1) + 1) + 1;
  const more = errors.length - 1;
  const others = more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : '';
  // The parser quotes the offending text, which can be long: one line, cut.
  const message = first.message.length > MAX_QUOTED ? `${first.message.slice(0, MAX_QUOTED)}…` : first.message;
  return new ManifestError(`${source}: not valid YAML or JSON: line ${line}, column ${column}: ${message}${others}`);
}
