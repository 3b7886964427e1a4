/**
 * A stock browser (headless Chromium's own WebSocket, Phoenix V2 frames by hand) negotiates permessage-deflate
 * with a Tether server and reads compressed broadcasts (deflated once, written raw) interleaved with pushes and
 * replies that ws compresses per socket, all intact and each stream in order.
 */
import assert from 'node:assert/strict';
import type { Socket as NetSocket } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import { createServer, ok, type TetherServer } from '../../src/server/index.ts';

const PAD = 'tether broadcast payload '.repeat(80);

let browser: Browser;
let server: TetherServer;
let httpUrl: string;
let wsUrl: string;

before(async () => {
  server = createServer({
    port: 0,
    host: '127.0.0.1',
    compression: true,
    channels: {
      'mix:*': {
        join: () => ok(),
        handleIn(event, payload, socket) {
          if (event === 'tick') {
            // On an idle socket: the broadcast is the shared pre-compressed frame, the reply compressed by ws.
            const i = (payload as { i: number }).i;
            void socket.broadcast('t', { i, pad: `${PAD}#${i}` });
            return ok({ i, pad: `${PAD}#${i}` });
          }
          if (event !== 'go') return;
          const n = (payload as { n: number }).n;
          for (let i = 0; i < n; i++) {
            socket.push('p', { i, pad: `${PAD}#${i}` });
            void socket.broadcast('b', { i, pad: `${PAD}#${i}` });
          }
          return ok({ n, pad: PAD });
        },
      },
    },
  });
  ({ url: wsUrl, httpUrl } = await server.listen());
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

interface PageResult {
  extensions: string;
  pushes: number[];
  broadcasts: number[];
  replies: unknown[];
  big: string | null;
  bad: number;
  /** `tick` i's broadcast and reply, in arrival order: "t0", "r0", "t1", ... */
  ticks: string[];
}

const TICKS = 40;

test('Chromium reads compressed broadcasts interleaved with compressed pushes and replies', async () => {
  // The server side of the upgraded connection: what it wrote is what went over the wire.
  const upgraded: NetSocket[] = [];
  server.httpServer.on('upgrade', (_req, s: NetSocket) => upgraded.push(s));
  let wireBefore = 0;
  const page = await browser.newPage();
  // A page of this server: a loopback origin, which the origin check accepts on loopback.
  await page.goto(httpUrl);
  // Once the page has every push, broadcast and reply, a broadcast from the idle server takes the raw path.
  await page.exposeFunction('everyRunAnswered', () => server.broadcast('mix:br', 'big', { text: `${PAD}!` }).then(() => undefined));
  await page.exposeFunction('ticking', () => {
    wireBefore = upgraded[0]?.bytesWritten ?? -1;
  });
  const collecting = page.evaluate(
    ({ url, pad, ticks }) =>
      new Promise<PageResult>((resolve, reject) => {
        const ws = new WebSocket(`${url}/websocket?vsn=2.0.0`);
        const result: PageResult = { extensions: '', pushes: [], broadcasts: [], replies: [], big: null, bad: 0, ticks: [] };
        const tick = (i: number) => ws.send(JSON.stringify(['1', `tick${i}`, 'mix:br', 'tick', { i }]));
        const timer = setTimeout(() => reject(new Error(`timed out: ${JSON.stringify({ ...result, replies: result.replies.length })}`)), 10_000);
        ws.onopen = () => {
          result.extensions = ws.extensions;
          ws.send(JSON.stringify(['1', '1', 'mix:br', 'phx_join', {}]));
          ws.send(JSON.stringify(['1', '2', 'mix:br', 'go', { n: 40 }]));
          ws.send(JSON.stringify(['1', '3', 'mix:br', 'go', { n: 40 }]));
        };
        ws.onmessage = (e) => {
          const [, ref, , event, payload] = JSON.parse(e.data as string) as [string, string, string, string, { i: number; pad: string; text?: string; response?: { i?: number; pad?: string } }];
          if (event === 't') {
            if (payload.pad !== `${pad}#${payload.i}`) result.bad++;
            result.ticks.push(`t${payload.i}`);
            return;
          }
          if (event === 'phx_reply' && ref.startsWith('tick')) {
            const i = payload.response?.i ?? -1;
            if (payload.response?.pad !== `${pad}#${i}`) result.bad++;
            result.ticks.push(`r${i}`);
            if (i + 1 < ticks) tick(i + 1);
            else {
              clearTimeout(timer);
              ws.close();
              resolve(result);
            }
            return;
          }
          if (event === 'p' || event === 'b') {
            if (payload.pad !== `${pad}#${payload.i}`) result.bad++;
            (event === 'p' ? result.pushes : result.broadcasts).push(payload.i);
          } else if (event === 'phx_reply' && ref !== '1') {
            if (payload.response?.pad !== pad) result.bad++;
            result.replies.push(ref);
          } else if (event === 'big') {
            result.big = payload.text ?? null;
          }
          if (event !== 'big' && result.replies.length === 2 && result.pushes.length === 80 && result.broadcasts.length === 80) {
            void (window as unknown as { everyRunAnswered(): Promise<void> }).everyRunAnswered();
          }
          if (result.big !== null && event === 'big') {
            // Then one tick at a time, each waiting for the previous reply.
            void (window as unknown as { ticking(): Promise<void> }).ticking().then(() => tick(0));
          }
        };
      }),
    { url: wsUrl, pad: PAD, ticks: TICKS },
  );
  const result = await collecting;
  const wire = upgraded[0].bytesWritten - wireBefore;
  await page.close();
  assert.match(result.extensions, /permessage-deflate/);
  assert.match(result.extensions, /server_no_context_takeover/);
  assert.equal(result.bad, 0, 'every payload intact');
  const twice = [...Array.from({ length: 40 }, (_, i) => i), ...Array.from({ length: 40 }, (_, i) => i)];
  assert.deepEqual(result.pushes, twice);
  assert.deepEqual(result.broadcasts, twice);
  assert.deepEqual(result.replies, ['2', '3']);
  assert.equal(result.big, `${PAD}!`);
  assert.deepEqual(result.ticks, Array.from({ length: TICKS }, (_, i) => [`t${i}`, `r${i}`]).flat(), 'each broadcast before its reply');
  assert.equal(upgraded.length, 1);
  assert.ok(wireBefore > 0);
  const plainBroadcasts = Array.from({ length: TICKS }, (_, i) => Buffer.byteLength(JSON.stringify([null, null, 'mix:br', 't', { i, pad: `${PAD}#${i}` }]))).reduce((a, b) => a + b);
  // Compressed, a broadcast and a reply are ~100 bytes each; a tenth of the broadcasts sent plain would pass this.
  assert.ok(wire < plainBroadcasts / 10, `${wire} bytes on the wire for ${TICKS} broadcasts (${plainBroadcasts} bytes plain) and ${TICKS} replies`);
});
