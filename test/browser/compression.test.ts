/**
 * A stock browser (headless Chromium's own WebSocket, Phoenix V2 frames by hand) negotiates permessage-deflate
 * with a Tether server and reads compressed broadcasts (deflated once, written raw) interleaved with pushes and
 * replies that ws compresses per socket, all intact and each stream in order.
 */
import assert from 'node:assert/strict';
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
}

test('Chromium reads compressed broadcasts interleaved with compressed pushes and replies', async () => {
  const page = await browser.newPage();
  // A page of this server: a loopback origin, which the origin check accepts on loopback.
  await page.goto(httpUrl);
  // Once the page has every push, broadcast and reply, a broadcast from the idle server takes the raw path.
  await page.exposeFunction('everyRunAnswered', () => server.broadcast('mix:br', 'big', { text: `${PAD}!` }).then(() => undefined));
  const collecting = page.evaluate(
    ({ url, pad }) =>
      new Promise<PageResult>((resolve, reject) => {
        const ws = new WebSocket(`${url}/websocket?vsn=2.0.0`);
        const result: PageResult = { extensions: '', pushes: [], broadcasts: [], replies: [], big: null, bad: 0 };
        const timer = setTimeout(() => reject(new Error(`timed out: ${JSON.stringify({ ...result, replies: result.replies.length })}`)), 10_000);
        ws.onopen = () => {
          result.extensions = ws.extensions;
          ws.send(JSON.stringify(['1', '1', 'mix:br', 'phx_join', {}]));
          ws.send(JSON.stringify(['1', '2', 'mix:br', 'go', { n: 40 }]));
          ws.send(JSON.stringify(['1', '3', 'mix:br', 'go', { n: 40 }]));
        };
        ws.onmessage = (e) => {
          const [, ref, , event, payload] = JSON.parse(e.data as string) as [string, string, string, string, { i: number; pad: string; text?: string; response?: { pad?: string } }];
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
          if (result.big !== null) {
            clearTimeout(timer);
            ws.close();
            resolve(result);
          }
        };
      }),
    { url: wsUrl, pad: PAD },
  );
  const result = await collecting;
  await page.close();
  assert.match(result.extensions, /permessage-deflate/);
  assert.match(result.extensions, /server_no_context_takeover/);
  assert.equal(result.bad, 0, 'every payload intact');
  const twice = [...Array.from({ length: 40 }, (_, i) => i), ...Array.from({ length: 40 }, (_, i) => i)];
  assert.deepEqual(result.pushes, twice);
  assert.deepEqual(result.broadcasts, twice);
  assert.deepEqual(result.replies, ['2', '3']);
  assert.equal(result.big, `${PAD}!`);
});
