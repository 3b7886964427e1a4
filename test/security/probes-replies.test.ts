/**
 * Every request gets an answer: a reply that cannot be encoded becomes `{"reason":"unencodable reply"}` and the
 * channel lives on; a push or broadcast that cannot be encoded is reported and skipped, never thrown into the
 * handler, the broker or the process.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';
import { assertServes, RawClient, startProbeServer } from './probe-kit.ts';

const UNENCODABLE = { response: { reason: 'unencodable reply' }, status: 'error' };

function cyclic(): JsonObject {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o as JsonObject;
}

/** Handlers that produce what JSON cannot carry. */
const bad: ChannelDefinition = {
  join: () => ok(),
  handleIn(event, _payload, socket) {
    switch (event) {
      case 'bigint':
        return ok({ n: 10n } as unknown as JsonObject);
      case 'cycle':
        return ok(cyclic());
      case 'bytes':
        return ok(new Uint8Array([1, 2, 3]));
      case 'push':
        socket.push('unencodable', cyclic());
        return ok({ pushed: true });
      case 'broadcast': {
        const sent = socket.broadcast('unencodable', { n: 10n } as unknown as JsonObject);
        return sent.then((result) => ok({ settled: true, ok: result.ok }));
      }
      default:
        return ok({ fine: true });
    }
  },
};

let s: Awaited<ReturnType<typeof startProbeServer>>;
before(async () => {
  s = await startProbeServer({ maxFrameBytes: 1024 * 1024, channels: { 'bad:*': bad, 'room:*': roomChannel } });
});

async function replyTo(c: RawClient, ref: string): Promise<unknown> {
  for (;;) {
    const f = (await c.json(5000)) as unknown[];
    if (f[3] === 'phx_reply' && f[1] === ref) return f[4];
  }
}

test('an echo of a payload nested 100,000 deep gets an error reply naming the reason; the channel answers the next push', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send(['1', '1', 'room:deep', 'phx_join', {}]);
  await replyTo(c, '1');
  const depth = 100_000;
  c.send(`["1","2","room:deep","echo",{"a":${'['.repeat(depth)}${']'.repeat(depth)}}]`);
  assert.deepEqual(await replyTo(c, '2'), UNENCODABLE);
  c.send(['1', '3', 'room:deep', 'echo', { still: 'here' }]);
  assert.deepEqual(await replyTo(c, '3'), { response: { still: 'here' }, status: 'ok' });
  assert.ok(s.errors.some((e) => e.context.startsWith('encode room:deep phx_reply') && e.err instanceof RangeError));
  c.close();
  await assertServes(s);
});

test('a BigInt, a cycle, or bytes on a topic too long for a binary frame: an error reply each; V1 gets the same', async () => {
  for (const vsn of ['2.0.0', '1.0.0']) {
    const c = await RawClient.connect(s.endpoint({ vsn }));
    const topic = `bad:${'x'.repeat(300)}`;
    const send = (ref: string, event: string) =>
      c.send(vsn === '2.0.0' ? JSON.stringify(['1', ref, topic, event, {}]) : JSON.stringify({ topic, event, payload: {}, ref, join_ref: '1' }));
    const reply = async (ref: string) => {
      for (;;) {
        const f = (await c.json()) as Record<string, unknown> | unknown[];
        if (Array.isArray(f) ? f[3] === 'phx_reply' && f[1] === ref : f.event === 'phx_reply' && f.ref === ref) return Array.isArray(f) ? f[4] : f.payload;
      }
    };
    send('1', 'phx_join');
    await reply('1');
    send('2', 'bigint');
    assert.deepEqual(await reply('2'), UNENCODABLE, `${vsn} bigint`);
    send('3', 'cycle');
    assert.deepEqual(await reply('3'), UNENCODABLE, `${vsn} cycle`);
    send('4', 'bytes');
    // V1 cannot carry bytes at all (binary_unsupported); V2 cannot fit a 304-byte topic in a binary header.
    assert.deepEqual(await reply('4'), vsn === '2.0.0' ? UNENCODABLE : { response: { reason: 'binary_unsupported' }, status: 'error' }, `${vsn} bytes`);
    send('5', 'fine');
    assert.deepEqual(await reply('5'), { response: { fine: true }, status: 'ok' });
    c.close();
  }
  await assertServes(s);
});

test('a push or broadcast that cannot be encoded is reported and skipped; the handler still answers', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send(['1', '1', 'bad:out', 'phx_join', {}]);
  await replyTo(c, '1');
  const before = s.errors.length;
  c.send(['1', '2', 'bad:out', 'push', {}]);
  assert.deepEqual(await replyTo(c, '2'), { response: { pushed: true }, status: 'ok' });
  c.send(['1', '3', 'bad:out', 'broadcast', {}]);
  const answer = (await replyTo(c, '3')) as { response: { settled: boolean } };
  assert.equal(answer.response.settled, true);
  const contexts = s.errors.slice(before).map((e) => e.context);
  assert.ok(contexts.some((ctx) => ctx.startsWith('encode bad:out unencodable')), contexts.join('\n'));
  assert.ok(contexts.some((ctx) => ctx.startsWith('encode broadcast bad:out unencodable')), contexts.join('\n'));
  c.send(['1', '4', 'bad:out', 'fine', {}]);
  assert.deepEqual(await replyTo(c, '4'), { response: { fine: true }, status: 'ok' });
  c.close();
  await assertServes(s);
});
