/**
 * Following a folder the kubelet updates (a ConfigMap or Secret volume): it writes a new
 * timestamped folder and renames the `..data` symlink onto it, which fires several fs events for
 * one change. We coalesce them, and also re-read on a slow timer in case an event is missed (some
 * filesystems, or a watch that failed). Shared by the config source and the HTTPS certificate folder.
 */
import {watch, type FSWatcher} from 'node:fs';
import type {Logger} from './log';

export interface FolderWatchOptions {
  readonly dir: string;
  /** Called after a burst of events, and on every poll tick; it should be cheap when nothing changed. */
  readonly reload: () => void;
  readonly pollMs: number;
  readonly debounceMs: number;
  /** Names the folder in log lines, e.g. "config", "TLS". */
  readonly what: string;
  readonly logger: Logger;
  /** Which event file names matter (default: all). */
  readonly relevant?: (name: string | null) => boolean;
}

export interface FolderWatch {
  close(): void;
}

export function watchFolder(options: FolderWatchOptions): FolderWatch {
  const {dir, reload, logger, what} = options;
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const schedule = (): void => {
    if (debounce !== undefined) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      reload();
    }, options.debounceMs);
    debounce.unref();
  };
  try {
    watcher = watch(dir, (_event, name) => {
      if (options.relevant === undefined || options.relevant(name)) schedule();
    });
    watcher.unref();
    watcher.on('error', error => logger.log('warn', `${what} folder watch failed; polling only`, {dir, error: String(error)}));
  } catch (error) {
    logger.log('warn', `${what} folder watch unavailable; polling only`, {dir, error: String(error)});
  }
  const poll = setInterval(reload, options.pollMs);
  poll.unref();
  return {
    close() {
      watcher?.close();
      clearInterval(poll);
      if (debounce !== undefined) clearTimeout(debounce);
    },
  };
}
