/**
 * The outbound hard cap (`outboundHardCapBytes`): a client that stops reading cannot make the server queue
 * more than the cap for it. The frame that would pass the cap is not queued and the connection is closed with
 * 4001 at once: the sweep's clock is virtual and never advanced here, so the grace period cannot be what
 * closed it. The memory figures are printed by `npm run test:faults` (test/faults/stalled-memory.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseCodes } from '../../src/protocol/close-codes.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { resolveOptions, ServerOptionsError } from '../../src/server/options.ts';
import { StalledSubscriber } from '../faults/harness/stalled-subscriber.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { join, RawClient, startServer } from '../helpers/server-fixtures.ts';

const room: ChannelDefinition = { join: () => ok() };
const KiB = 1024;

test('the cap defaults to 1.5x the budget and may not be below it', () => {
  const base = { channels: {} };
  assert.equal(resolveOptions(base).outboundHardCapBytes, 6 * 1024 * KiB);
  assert.equal(resolveOptions({ ...base, outboundBudgetBytes: 100_000 }).outboundHardCapBytes, 150_000);
  assert.equal(resolveOptions({ ...base, outboundBudgetBytes: 100_000, outboundHardCapBytes: 100_000 }).outboundHardCapBytes, 100_000);
  assert.throws(() => resolveOptions({ ...base, outboundBudgetBytes: 100_000, outboundHardCapBytes: 99_999 }), ServerOptionsError);
});

test('a consumer that stops reading is closed with 4001 the moment a frame would pass the cap; its neighbour gets everything', async (t) => {
  const clock = new VirtualClock();
  const CAP = 96 * KiB;
  const s = await startServer({
    clock, channels: { 'room:*': room }, outboundBudgetBytes: 64 * KiB, outboundHardCapBytes: CAP,
    slowConsumerGraceMs: 600_000, idleTimeoutMs: 600_000, closeGraceMs: 600_000,
  });
  t.after(() => s.server.close());
  const reports: { bufferedBytes: number; cause: string }[] = [];
  s.server.observe({ slowConsumer: ({ bufferedBytes, cause }) => reports.push({ bufferedBytes, cause }) });
  const reader = await RawClient.connect(s.endpoint());
  await join(reader, 'room:cap', '1');
  const stalled = await StalledSubscriber.join(s.port, 'room:cap');
  t.after(() => stalled.destroy());

  // 16 KiB frames until the stalled one's kernel buffers are full and ws starts queueing; bounded at 64 MiB.
  const chunk = { data: 'x'.repeat(16 * KiB) };
  let sent = 0;
  while (reports.length === 0 && sent < 4096) {
    s.server.broadcast('room:cap', 'big', chunk);
    sent++;
    // Let the reader drain so that only the stalled consumer backs up.
    await reader.next();
  }
  assert.equal(reports.length, 1, `the stalled consumer passed the cap within ${sent} broadcasts`);
  assert.equal(reports[0].cause, 'hardCap');
  assert.ok(reports[0].bufferedBytes <= CAP, `queued ${reports[0].bufferedBytes} bytes, cap ${CAP}`);
  assert.ok(reports[0].bufferedBytes + chunk.data.length > CAP - 64, 'closed only when the next frame would have passed the cap');

  // More broadcasts after the cut are not queued for it and not reported again.
  for (let i = 0; i < 20; i++) s.server.broadcast('room:cap', 'big', chunk);
  for (let i = 0; i < 20; i++) await reader.next();
  assert.equal(reports.length, 1);
  assert.equal(await stalled.resume(5000), CloseCodes.slowConsumer, 'the close frame is queued past the cap: control frames are never dropped');
  stalled.destroy();
  reader.send([null, '9', 'phoenix', 'heartbeat', {}]);
  assert.deepEqual(await reader.json(), [null, '9', 'phoenix', 'phx_reply', { response: {}, status: 'ok' }]);
  reader.close();
});

test('a single frame larger than the cap is never queued: the connection is closed with 4001', async (t) => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, channels: { 'room:*': room }, outboundBudgetBytes: 32 * KiB, outboundHardCapBytes: 48 * KiB });
  t.after(() => s.server.close());
  const client = await RawClient.connect(s.endpoint());
  await join(client, 'room:huge', '1');
  s.server.broadcast('room:huge', 'small', { data: 'x'.repeat(40 * KiB) });
  assert.deepEqual(((await client.json()) as unknown[]).slice(2, 4), ['room:huge', 'small']);
  s.server.broadcast('room:huge', 'huge', { data: 'x'.repeat(48 * KiB) });
  const closed = await client.closed;
  assert.equal(closed.code, CloseCodes.slowConsumer);
  assert.match(closed.reason, /hard cap of 49152/);
});

test('a reply larger than the cap is never queued either: the connection is closed with 4001', async (t) => {
  const clock = new VirtualClock();
  const big: ChannelDefinition = { join: () => ok(), handleIn: (_event, payload) => ok(payload) };
  const s = await startServer({ clock, channels: { 'room:*': big }, outboundBudgetBytes: 32 * KiB, outboundHardCapBytes: 48 * KiB });
  t.after(() => s.server.close());
  const client = await RawClient.connect(s.endpoint());
  await join(client, 'room:reply', '1');
  // Multi-byte text: its worst case (3 bytes a code unit) passes the cap, its real size does not, so it is sent.
  client.send(['1', '2', 'room:reply', 'echo', { data: 'é'.repeat(20 * KiB) }]);
  assert.deepEqual(((await client.json()) as unknown[]).slice(1, 4), ['2', 'room:reply', 'phx_reply']);
  client.send(['1', '3', 'room:reply', 'echo', { data: 'é'.repeat(25 * KiB) }]);
  const closed = await client.closed;
  assert.equal(closed.code, CloseCodes.slowConsumer);
  assert.match(closed.reason, /a 512\d\d-byte frame on \d+ queued bytes would pass the hard cap of 49152/);
});
