/**
 * Logging something that can happen thousands of times a second (events lost, callers refused)
 * without letting it flood the log: every occurrence is counted, but only the first one of a burst
 * is logged, with its details, and the burst's totals by kind are logged once when its window closes
 * (or on `end()`), however many there were. The counting for metrics is the caller's business; this
 * only decides what reaches the log.
 */
import type {LogFields, LogLevel, Logger} from './log';

export interface BurstLogOptions<K extends string> {
  readonly logger: Logger;
  readonly level: LogLevel;
  /** The kinds counted in a burst; the totals line has one field per kind, zeros included. */
  readonly kinds: readonly K[];
  /** The message of the line logged when a burst starts. */
  readonly started: string;
  /** The message of the totals line. */
  readonly ended: string;
  /** How long a burst lasts from its first occurrence (default 60 s). */
  readonly windowMs?: number;
  /** Fields on both lines (e.g. where to), never secrets. */
  readonly context?: LogFields;
}

interface Burst<K extends string> {
  readonly counts: Record<K, number>;
  readonly timer: NodeJS.Timeout;
}

export class BurstLog<K extends string> {
  private burst: Burst<K> | undefined;

  constructor(private readonly options: BurstLogOptions<K>) {}

  /** Counts one occurrence; logs it with `fields` only if it starts a burst. */
  note(kind: K, fields: LogFields): void {
    const {logger, level, started, context} = this.options;
    if (this.burst === undefined) {
      logger.log(level, started, {...context, ...fields});
      const timer = setTimeout(() => this.end(), this.options.windowMs ?? 60_000);
      timer.unref();
      const counts = Object.fromEntries(this.options.kinds.map(k => [k, 0])) as Record<K, number>;
      this.burst = {counts, timer};
    }
    this.burst.counts[kind] += 1;
  }

  /** Closes the burst now (at shutdown), logging its totals; nothing when none is open. */
  end(): void {
    const burst = this.burst;
    if (burst === undefined) return;
    clearTimeout(burst.timer);
    this.burst = undefined;
    this.options.logger.log(this.options.level, this.options.ended, {...this.options.context, ...burst.counts});
  }
}
