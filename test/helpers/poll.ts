/**
 * For conditions on objects the testing kit does not watch (a bare Socket, a Presence, a server's hook log):
 * re-checks every few milliseconds until true or the timeout. Where the kit's objects are involved, prefer its
 * event-driven `waitFor` (src/testing), which needs no timer. An async condition is awaited (a Promise itself
 * would always count as true).
 */
export async function pollUntil(condition: () => unknown, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
