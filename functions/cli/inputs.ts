/**
 * What `-f` names, read: a file, stdin (`-`), or a folder's manifests (with -R, its subfolders' too,
 * as `kubectl apply -R` reads them). Problems come back as one line naming the path, never as a
 * raw errno message or a stack trace.
 */
import {readdirSync, readFileSync, realpathSync, statSync, type Stats} from 'node:fs';
import {join} from 'node:path';
import {fsProblem, ManifestError} from './problems';

export interface Input {
  readonly source: string;
  readonly text: string;
}

export function readText(path: string | 0, name: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw fsProblem(name, error);
  }
}

function statOf(path: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    throw fsProblem(path, error);
  }
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

const isManifest = (name: string): boolean => MANIFEST_EXTENSIONS.some(ext => name.endsWith(ext));

/** The folder's manifest files in name order; with `recursive`, subfolders' in the same walk. */
function manifestFiles(dir: string, recursive: boolean, seen: Set<string>): {files: string[]; subfolders: number} {
  // A symbolic link back up the tree must not walk forever.
  const real = realpathSync(dir);
  if (seen.has(real)) return {files: [], subfolders: 0};
  seen.add(real);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw fsProblem(dir, error);
  }
  const files: string[] = [];
  let subfolders = 0;
  for (const name of names) {
    const path = join(dir, name);
    if (statOf(path).isDirectory()) {
      subfolders++;
      if (recursive) files.push(...manifestFiles(path, true, seen).files);
    } else if (isManifest(name)) files.push(path);
  }
  return {files, subfolders};
}

export function readInputs(name: string, recursive: boolean): Input[] {
  if (name === '-') return [{source: 'stdin', text: readText(0, 'stdin')}];
  if (!statOf(name).isDirectory()) return [{source: name, text: readText(name, name)}];
  const {files, subfolders} = manifestFiles(name, recursive, new Set());
  if (files.length === 0) {
    const hint = !recursive && subfolders > 0 ? ` (it has ${subfolders} subfolder${subfolders === 1 ? '' : 's'}: add -R to read them too)` : '';
    throw new ManifestError(`${name}: no .yaml, .yml or .json files in this folder${hint}`);
  }
  return files.map(path => ({source: path, text: readText(path, path)}));
}
