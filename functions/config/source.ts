/**
 * Where the config comes from, and keeping it current.
 *
 * `INJECTOR_CONFIG` names a file, or a folder holding `config.yaml` (a ConfigMap volume); unset,
 * the bundled default is used. A ConfigMap volume is updated by the kubelet writing a new
 * timestamped folder and renaming the `..data` symlink onto it, so the file's content changes
 * atomically: we watch the folder, re-read on any change (and on a slow timer, in case an event is
 * missed), and swap the config only if the new one is valid. A bad update is logged and the last
 * good config stays in force.
 */
import {existsSync, readFileSync, statSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';
import type {VersionedConfig} from '../core/config';
import {watchFolder, type FolderWatch} from '../ops/folder-watch';
import {packageRoot} from '../ops/package-root';
import type {Logger} from '../ops/log';
import {parseConfig, type ParsedConfig} from './parse';

export const CONFIG_FILE_IN_FOLDER = 'config.yaml';

/** The bundled default: the same file kustomize puts in the ConfigMap. */
export function bundledConfigPath(): string {
  const root = packageRoot();
  if (root === undefined) throw new Error(`package.json not found above ${__dirname}`);
  return join(root, 'manifests', 'base', 'config.yaml');
}

/** The config file named by `INJECTOR_CONFIG` (a file, or a folder holding config.yaml). */
export function resolveConfigPath(setting: string | undefined): string {
  if (setting === undefined || setting === '') return bundledConfigPath();
  return existsSync(setting) && statSync(setting).isDirectory() ? join(setting, CONFIG_FILE_IN_FOLDER) : setting;
}

export type LoadResult = {ok: true; value: VersionedConfig; changed: boolean} | {ok: false; errors: string[]};

export interface ConfigSourceOptions {
  readonly path: string;
  readonly logger: Logger;
  /** Called after every load attempt that read something new (for metrics). */
  readonly onLoad?: (result: LoadResult) => void;
  /** Safety-net re-read interval; the folder watch is what normally triggers a reload. */
  readonly pollMs?: number;
  /** Text -> config; default parseConfig (the drop-in for NSM's settings adds them on top: nsm-env.ts). */
  readonly parse?: ((text: string) => ParsedConfig) | undefined;
}

export class ConfigSource {
  private current: VersionedConfig | undefined;
  private lastText: string | undefined;
  private lastResult: LoadResult | undefined;
  private watcher: FolderWatch | undefined;

  constructor(private readonly options: ConfigSourceOptions) {}

  /** The config in force, or undefined if none valid was ever loaded. */
  get(): VersionedConfig | undefined {
    return this.current;
  }

  get path(): string {
    return this.options.path;
  }

  /** Reads the file and swaps the config in if it is valid and new. Never throws. */
  load(): LoadResult {
    const {path, logger} = this.options;
    let text: string;
    let unreadable: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      // Mid-swap the file can be missing for an instant; keep what we have and say so (once).
      unreadable = `cannot read ${path}: ${(error as Error).message}`;
      text = `\u0000${unreadable}`;
    }
    // The timer re-reads an unchanged file every few seconds: answer as before, report nothing again.
    if (text === this.lastText && this.lastResult !== undefined) {
      return this.lastResult.ok ? {...this.lastResult, changed: false} : this.lastResult;
    }
    this.lastText = text;
    const parsed = unreadable === undefined ? (this.options.parse ?? parseConfig)(text) : {ok: false as const, errors: [unreadable]};
    const result: LoadResult = parsed.ok
      ? {ok: true, value: parsed.value, changed: parsed.value.hash !== this.current?.hash}
      : {ok: false, errors: parsed.errors};
    if (result.ok) this.current = result.value;
    this.lastResult = result;
    this.report(result);
    if (!result.ok && this.current !== undefined) {
      logger.log('error', 'config rejected; the last good config stays in force', {
        path,
        errors: result.errors,
        activeConfigHash: this.current.hash,
      });
    }
    return result;
  }

  private report(result: LoadResult): void {
    const {path, logger, onLoad} = this.options;
    if (result.ok && result.changed) logger.log('info', 'config loaded', {path, configHash: result.value.hash});
    if (!result.ok && this.current === undefined) logger.log('error', 'config invalid and no good config to fall back on', {path, errors: result.errors});
    onLoad?.(result);
  }

  /** Follows the file's folder (see ops/folder-watch.ts); `..data` is the kubelet's atomic swap. */
  watch(): void {
    const file = basename(this.options.path);
    this.watcher ??= watchFolder({
      dir: dirname(this.options.path),
      reload: () => void this.load(),
      pollMs: this.options.pollMs ?? 10_000,
      debounceMs: 50,
      what: 'config',
      logger: this.options.logger,
      relevant: name => name === null || name === file || name.startsWith('..'),
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
