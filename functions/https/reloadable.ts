/**
 * TLS material read from a Secret volume and kept current without a restart: the serving
 * certificate (certificates.ts) and the client CA bundle (client-ca.ts).
 *
 * cert-manager renews certificates long before they expire and rewrites the Secret; the kubelet
 * then updates the volume the way it updates every Secret/ConfigMap volume: it writes the new files
 * to a fresh timestamped folder and atomically renames the `..data` symlink onto it. We watch the
 * folder, re-read on any change (and on a slow timer, in case an event is missed), and hand new
 * material on only if it is valid. Bad new material is logged and what is in use stays: an HTTPS
 * endpoint with a stale certificate still works until it expires, one with none does not.
 */
import {watchFolder, type FolderWatch} from '../ops/folder-watch';
import type {LogFields, Logger} from '../ops/log';

export type ReadResult<T> = {readonly ok: true; readonly value: T} | {readonly ok: false; readonly error: string};

export interface ReloadableOptions<T> {
  /** The folder to watch (the volume's mount point). */
  readonly dir: string;
  /** Names it in log lines: "TLS certificate", "client CA bundle". */
  readonly what: string;
  /** Reads and checks the current files; never throws. */
  readonly read: () => ReadResult<T>;
  readonly same: (a: T, b: T) => boolean;
  /** Fields for the `loaded`/`reloaded` log lines. */
  readonly describe: (value: T) => LogFields;
  /** Identifies what is in use, in the `rejected` log line. */
  readonly fingerprint: (value: T) => string;
  readonly logger: Logger;
  /** Called with each new valid value (not with the first one `load` returns). */
  readonly onChange: (value: T) => void;
  readonly pollMs?: number;
}

export class Reloadable<T> {
  private current: T | undefined;
  private lastRejected: string | undefined;
  private watcher: FolderWatch | undefined;

  constructor(private readonly options: ReloadableOptions<T>) {}

  get value(): T | undefined {
    return this.current;
  }

  /** Reads the files; a valid value different from the one in use becomes current. Never throws. */
  load(): ReadResult<T> {
    const {dir, logger, what} = this.options;
    const result = this.options.read();
    if (!result.ok) {
      // The timer re-reads every few seconds: say it once per distinct problem, not every time.
      if (result.error !== this.lastRejected) {
        this.lastRejected = result.error;
        logger.log('error', this.current !== undefined ? `${what} rejected; the previous one stays in use` : `no valid ${what}`, {
          dir,
          error: result.error,
          activeFingerprint: this.current === undefined ? undefined : this.options.fingerprint(this.current),
        });
      }
      return result;
    }
    this.lastRejected = undefined;
    const previous = this.current;
    if (previous !== undefined && this.options.same(previous, result.value)) return result;
    this.current = result.value;
    logger.log('info', `${what} ${previous !== undefined ? 'reloaded' : 'loaded'}`, {dir, ...this.options.describe(result.value)});
    if (previous !== undefined) this.options.onChange(result.value);
    return result;
  }

  /** Follows the folder (see ops/folder-watch.ts): new valid material goes to `onChange`. */
  watch(): void {
    this.watcher ??= watchFolder({
      dir: this.options.dir,
      reload: () => void this.load(),
      pollMs: this.options.pollMs ?? 30_000,
      debounceMs: 100,
      what: this.options.what,
      logger: this.options.logger,
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
