/**
 * The audit delivery queue on its own, with a hand-driven `deliver`: capacity, concurrency, the
 * deadline, close, and loss logging once per burst (jest's fake timers drive the burst window).
 */
import {DeliveryQueue, type DeliveryQueueOptions, type DeliveryResult} from '../../functions/ops/delivery-queue';
import type {LogLevel} from '../../functions/ops/log';

interface Pending {
  readonly item: number;
  readonly signal: AbortSignal;
  resolve(): void;
  reject(error: Error): void;
}

function setup(overrides: Partial<DeliveryQueueOptions<number>> = {}) {
  const pending: Pending[] = [];
  const results: DeliveryResult[] = [];
  const logs: Array<{level: LogLevel; message: string; fields: Record<string, unknown>}> = [];
  const queue = new DeliveryQueue<number>({
    deliver: (item, signal) =>
      new Promise<void>((resolve, reject) => {
        pending.push({item, signal, resolve, reject});
        signal.addEventListener('abort', () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted')));
      }),
    capacity: 2,
    concurrency: 1,
    timeoutMs: 60_000,
    onResult: result => results.push(result),
    logger: {log: (level, message, fields = {}) => logs.push({level, message, fields})},
    what: 'test items',
    burstMs: 1000,
    ...overrides,
  });
  const tick = () => new Promise<void>(resolve => setImmediate(resolve));
  return {queue, pending, results, logs, tick};
}

describe('DeliveryQueue', () => {
  it('never calls deliver inside offer: sending starts on a later turn of the event loop', async () => {
    const {queue, pending, tick} = setup();
    queue.offer(1);
    expect(pending).toHaveLength(0);
    await tick();
    expect(pending.map(p => p.item)).toEqual([1]);
    queue.close();
  });

  it('drops and counts what does not fit, sends the rest in order, `concurrency` at a time', async () => {
    const {queue, pending, results, tick} = setup();
    for (const item of [1, 2, 3, 4, 5]) queue.offer(item);
    // Nothing has started yet, so the queue holds two and drops three.
    expect(results).toEqual(['dropped', 'dropped', 'dropped']);
    expect(queue.length).toBe(2);
    await tick();
    expect(pending.map(p => p.item)).toEqual([1]);
    expect(queue.length).toBe(1);
    pending[0]?.resolve();
    await tick();
    expect(pending.map(p => p.item)).toEqual([1, 2]);
    pending[1]?.reject(new Error('HTTP 503'));
    await queue.idle();
    expect(results).toEqual(['dropped', 'dropped', 'dropped', 'sent', 'failed']);
  });

  it('aborts a delivery at its deadline and counts it failed', async () => {
    const {queue, pending, results, logs, tick} = setup({timeoutMs: 5});
    queue.offer(1);
    await tick();
    await queue.idle();
    expect(pending[0]?.signal.aborted).toBe(true);
    expect(results).toEqual(['failed']);
    expect(logs[0]?.fields['cause']).toBe('no answer within 5 ms');
  });

  it('on close: the delivery in flight is aborted and failed, the waiting ones dropped, later offers dropped', async () => {
    const {queue, pending, results, tick} = setup();
    queue.offer(1);
    queue.offer(2);
    await tick();
    queue.close();
    expect(pending[0]?.signal.aborted).toBe(true);
    queue.offer(3);
    await queue.idle();
    // The aborted delivery's own rejection is not counted a second time.
    expect(results).toEqual(['failed', 'dropped', 'dropped']);
  });

  it('counts a deliver that throws instead of rejecting as failed', async () => {
    const {queue, results, tick} = setup({
      deliver: () => {
        throw new Error('sync throw');
      },
    });
    queue.offer(1);
    await tick();
    await queue.idle();
    expect(results).toEqual(['failed']);
  });

  // Typed as Error for the rejection; at run time they are what a foreign realm or a bad sender gives.
  const failures: Array<[string, Error, string]> = [
    ['an AggregateError (every address refused): its code', Object.assign(new AggregateError([], ''), {code: 'ECONNREFUSED'}), 'ECONNREFUSED'],
    ['an error-like object from another realm: its message', {message: 'from another realm'} as Error, 'from another realm'],
    ['anything else: a plain statement', 42 as unknown as Error, 'delivery failed'],
  ];
  it.each(failures)('logs the cause of a failure that is %s', async (_what, failure, cause) => {
    const {queue, logs, tick} = setup({deliver: () => Promise.reject(failure)});
    queue.offer(1);
    await tick();
    await queue.idle();
    expect(logs[0]?.fields['cause']).toBe(cause);
    queue.close();
  });

  describe('loss logging', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('logs once when a burst starts and once with its totals when it ends, then again for the next burst', () => {
      const {queue, logs} = setup({capacity: 0});
      for (let i = 0; i < 50; i++) queue.offer(i);
      expect(logs).toEqual([{level: 'warn', message: expect.stringContaining('test items are being lost'), fields: {result: 'dropped', cause: 'queue full (0 waiting)'}}]);
      jest.advanceTimersByTime(1000);
      expect(logs[1]).toEqual({level: 'warn', message: 'test items lost in this burst', fields: {dropped: 50, failed: 0}});
      queue.offer(99);
      expect(logs).toHaveLength(3);
      queue.close();
      expect(logs[3]).toEqual({level: 'warn', message: 'test items lost in this burst', fields: {dropped: 1, failed: 0}});
    });
  });
});

describe('DeliveryQueue backoff', () => {
  it('pauses sending after a failure, doubling the pause while failures go on, and resets on success', async () => {
    jest.useFakeTimers({doNotFake: ['setImmediate']});
    try {
      const {queue, pending, results, tick} = setup({capacity: 10, backoffMs: [100, 400]});
      for (let i = 0; i < 4; i++) queue.offer(i);
      await tick();
      expect(pending).toHaveLength(1);
      pending[0]?.reject(new Error('ECONNREFUSED'));
      await tick();
      // Paused: the next item waits instead of costing another failed connect.
      expect(pending).toHaveLength(1);
      jest.advanceTimersByTime(99);
      await tick();
      expect(pending).toHaveLength(1);
      jest.advanceTimersByTime(1);
      await tick();
      expect(pending).toHaveLength(2);
      pending[1]?.reject(new Error('ECONNREFUSED'));
      await tick();
      jest.advanceTimersByTime(199);
      await tick();
      expect(pending).toHaveLength(2);
      jest.advanceTimersByTime(1);
      await tick();
      expect(pending).toHaveLength(3);
      pending[2]?.resolve();
      await tick();
      // A success resets the pause: the last item goes at once.
      expect(pending).toHaveLength(4);
      pending[3]?.resolve();
      await tick();
      expect(results).toEqual(['failed', 'failed', 'sent', 'sent']);
      queue.close();
    } finally {
      jest.useRealTimers();
    }
  });
});
