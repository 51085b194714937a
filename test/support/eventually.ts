/** Polls `check` until it holds, or fails naming what it waited for. For waiting, never for timing. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise(resolve => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
