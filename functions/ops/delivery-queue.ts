/**
 * Best-effort delivery off the request path: a bounded in-memory queue drained by a few workers.
 *
 * `offer` only appends (or drops when full) and returns at once; sending starts on a later turn of
 * the event loop (setImmediate), after the answer that caused the event has been written. Each
 * delivery gets a deadline, after which its AbortSignal fires. Nothing is retried: at most once.
 * Losses are counted one by one but logged once per burst: a line when the first is lost, and a
 * line with the totals when the burst window closes (or on close), however many were lost.
 *
 * After a failed delivery the queue pauses sending (1 s, doubling while failures go on, up to
 * 30 s; a success resets it): a sink that refuses every connection would otherwise cost a connect
 * and an error per event, CPU taken from the answers (docs/benchmarks.md). While paused, items
 * wait within the capacity and beyond it are dropped, as ever.
 */
import {BurstLog} from './burst-log';
import type {Logger} from './log';

export const DELIVERY_RESULTS = ['sent', 'failed', 'dropped'] as const;
export type DeliveryResult = (typeof DELIVERY_RESULTS)[number];

export interface DeliveryQueueOptions<T> {
  /** Sends one item; resolves when delivered, rejects otherwise. Must stop when `signal` aborts. */
  readonly deliver: (item: T, signal: AbortSignal) => Promise<void>;
  /** Items waiting (not counting those being sent); beyond it, new items are dropped. */
  readonly capacity: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly onResult: (result: DeliveryResult) => void;
  readonly logger: Logger;
  /** What is delivered, for log lines, e.g. "audit events". */
  readonly what: string;
  /** Extra fields for the loss log lines (where to), never secrets. */
  readonly context?: Readonly<Record<string, string>>;
  readonly burstMs?: number;
  /** The pause after a failure, doubled while failures go on: [first, longest]. */
  readonly backoffMs?: readonly [number, number];
}

/**
 * The cause of a failure, for the log. Duck-typed rather than `instanceof Error`: errors from node
 * internals may come from another realm (jest's), and an AggregateError (every address of the
 * sink refused) has an empty message but a `code`.
 */
function describe(error: unknown): string {
  if (typeof error === 'string') return error;
  if (typeof error !== 'object' || error === null) return 'delivery failed';
  const {message, code} = error as {message?: unknown; code?: unknown};
  if (typeof message === 'string' && message !== '') return message;
  return typeof code === 'string' ? code : 'delivery failed';
}

interface InFlight {
  readonly controller: AbortController;
  /** Set when close() has already counted it, so its late settlement is not counted again. */
  counted: boolean;
}

export class DeliveryQueue<T> {
  private readonly waiting: T[] = [];
  private readonly inFlight = new Set<InFlight>();
  private scheduled = false;
  private closed = false;
  private readonly losses: BurstLog<'dropped' | 'failed'>;
  private idleWaiters: Array<() => void> = [];
  private backoff = 0;
  private resume: NodeJS.Timeout | undefined;

  constructor(private readonly options: DeliveryQueueOptions<T>) {
    this.losses = new BurstLog({
      logger: options.logger,
      level: 'warn',
      kinds: ['dropped', 'failed'],
      started: `${options.what} are being lost; more losses are counted, and summed up when this burst ends`,
      ended: `${options.what} lost in this burst`,
      ...(options.burstMs === undefined ? {} : {windowMs: options.burstMs}),
      ...(options.context === undefined ? {} : {context: options.context}),
    });
  }

  get length(): number {
    return this.waiting.length;
  }

  /** Queues an item for delivery; never throws, never waits. */
  offer(item: T): void {
    if (this.closed || this.waiting.length >= this.options.capacity) {
      this.lost('dropped', this.closed ? 'shut down' : `queue full (${this.options.capacity} waiting)`);
      return;
    }
    this.waiting.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  /** Resolves once nothing is waiting or being sent (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise(resolve => this.idleWaiters.push(resolve));
  }

  /** Drops what waits, aborts what is being sent (both counted as lost), logs the burst's totals. */
  close(): void {
    this.closed = true;
    for (const flight of this.inFlight) {
      flight.counted = true;
      this.lost('failed', 'shut down while sending');
      flight.controller.abort(new Error('shut down'));
    }
    this.inFlight.clear();
    if (this.resume !== undefined) clearTimeout(this.resume);
    this.resume = undefined;
    const unsent = this.waiting.splice(0).length;
    for (let i = 0; i < unsent; i++) this.lost('dropped', 'shut down');
    this.losses.end();
    this.settle();
  }

  private isIdle(): boolean {
    return this.waiting.length === 0 && this.inFlight.size === 0 && !this.scheduled;
  }

  private settle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private pump(): void {
    while (!this.closed && this.resume === undefined && this.inFlight.size < this.options.concurrency) {
      const item = this.waiting.shift();
      if (item === undefined) break;
      this.send(item);
    }
    this.settle();
  }

  private send(item: T): void {
    const {timeoutMs} = this.options;
    const flight: InFlight = {controller: new AbortController(), counted: false};
    this.inFlight.add(flight);
    const timer = setTimeout(() => flight.controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    let delivery: Promise<void>;
    try {
      delivery = this.options.deliver(item, flight.controller.signal);
    } catch (error) {
      delivery = Promise.reject(error instanceof Error ? error : new Error(describe(error)));
    }
    delivery.then(
      () => this.finish(flight, timer, undefined),
      (error: unknown) => this.finish(flight, timer, error),
    );
  }

  private finish(flight: InFlight, timer: NodeJS.Timeout, error: unknown): void {
    clearTimeout(timer);
    this.inFlight.delete(flight);
    if (!flight.counted) {
      if (error === undefined) this.options.onResult('sent');
      else this.lost('failed', describe(error));
    }
    if (error === undefined) this.backoff = 0;
    else if (!this.closed && this.resume === undefined) this.pause();
    this.pump();
  }

  private pause(): void {
    const [first, longest] = this.options.backoffMs ?? [1000, 30_000];
    this.backoff = this.backoff === 0 ? first : Math.min(this.backoff * 2, longest);
    this.resume = setTimeout(() => {
      this.resume = undefined;
      this.pump();
    }, this.backoff);
    this.resume.unref();
  }

  private lost(result: 'dropped' | 'failed', cause: string): void {
    this.options.onResult(result);
    this.losses.note(result, {result, cause});
  }
}
