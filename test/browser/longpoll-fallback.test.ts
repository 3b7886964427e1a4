/**
 * A page behind a proxy that refuses WebSocket upgrades (403) and forwards plain HTTP to Tether: the browser
 * bundle falls back to long-poll with `longPollFallbackMs`, keeps working across a server restart, remembers the
 * fallback for the tab in sessionStorage (phoenix.js's key), and the stock phoenix.js client does the same.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildClientBundle } from '../../scripts/build-client-bundle.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { createServer, type TetherServer } from '../../src/server/index.ts';
import { launchChromium } from '../helpers/browser.ts';

type PageSocket = { state: string; stats(): { transport: string; reconnects: number }; transitions: { reason: string }[]; disconnect(): Promise<void> };
type PageWindow = { tether: typeof import('../../src/client/browser-entry.ts'); socket: PageSocket; room: { state: string; request(e: string, p: unknown): Promise<unknown> } };

let browser: Browser;
let proxy: Server;
let proxyUrl: string;
let target = 0;
let refusedUpgrades = 0;

before(async () => {
  const bundle = readFileSync(await buildClientBundle(), 'utf8');
  assert.ok(bundle.includes('x-phoenix-longpoll-token'), 'the browser bundle carries the long-poll transport');
  const files = new Map<string, [string, string]>([
    ['/', [readFileSync(new URL('./fixtures/client/index.html', import.meta.url), 'utf8'), 'text/html']],
    ['/tether-client.js', [bundle, 'text/javascript']],
    ['/phoenix.mjs', [readFileSync(new URL('../../node_modules/phoenix/priv/static/phoenix.mjs', import.meta.url), 'utf8'), 'text/javascript']],
  ]);
  // The page and the endpoint share this origin, as behind a corporate proxy: files from here, the rest forwarded.
  proxy = createHttpServer((req, res) => {
    const file = files.get(req.url ?? '/');
    if (file) return void res.writeHead(200, { 'content-type': file[1] }).end(file[0]);
    const upstream = request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => !res.headersSent && res.writeHead(502).end('bad gateway'));
    req.pipe(upstream);
  });
  proxy.on('upgrade', (_req, socket) => {
    refusedUpgrades += 1;
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
});

async function startServer(port = 0): Promise<TetherServer> {
  const server = createServer({ port, host: '127.0.0.1', channels: { 'room:*': roomChannel } });
  target = (await server.listen()).port;
  return server;
}

async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${proxyUrl}/`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 5000 });
  return { page, errors };
}

/** In the page: a Tether socket with the fallback, a joined room, and what the first requests returned. */
async function connectInPage(page: Page) {
  return page.evaluate(async (url) => {
    const w = window as unknown as PageWindow;
    const socket = new w.tether.Socket(url, { longPollFallbackMs: 1000, reconnect: () => 50, params: { user: 'page' } });
    w.socket = socket as unknown as PageSocket;
    socket.connect();
    const room = socket.channel('room:proxy');
    w.room = room as unknown as PageWindow['room'];
    const joined = await room.join();
    const echo = await room.request('echo', { via: 'long-poll' });
    const bytes = await room.request('binary', new Uint8Array([1, 2, 3]));
    return {
      joined: joined.status,
      echo,
      bytes: [...(bytes as Uint8Array)],
      transport: socket.stats().transport,
      path: socket.transitions.map((t) => t.reason),
      memo: sessionStorage.getItem('phx:fallback:LongPoll'),
    };
  }, `ws://${proxyUrl.slice('http://'.length)}/socket`);
}

test('behind a proxy refusing upgrades, the bundle falls back to long-poll, survives a restart, and the tab remembers', async () => {
  let server = await startServer();
  const { page, errors } = await openPage();
  try {
    const refusedBefore = refusedUpgrades;
    const first = await connectInPage(page);
    assert.deepEqual(first, {
      joined: 'ok',
      echo: { via: 'long-poll' },
      bytes: [1, 2, 3],
      transport: 'longpoll',
      path: ['connect', 'transport_fallback', 'retry', 'opened'],
      memo: 'true',
    });
    assert.equal(refusedUpgrades, refusedBefore + 1);

    const port = target;
    await server.close();
    await page.waitForFunction(() => (window as unknown as PageWindow).room.state !== 'joined', null, { timeout: 5000 });
    server = await startServer(port);
    await page.waitForFunction(() => (window as unknown as PageWindow).room.state === 'joined', null, { timeout: 10_000 });
    const after = await page.evaluate(async () => {
      const w = window as unknown as PageWindow;
      return { echo: await w.room.request('echo', { again: true }), transport: w.socket.stats().transport, reconnects: w.socket.stats().reconnects };
    });
    assert.deepEqual(after, { echo: { again: true }, transport: 'longpoll', reconnects: 1 });
    assert.equal(refusedUpgrades, refusedBefore + 1, 'no WebSocket attempt after the switch');

    // A new socket in the same tab (here after a reload) starts on long-poll: no refused upgrade first.
    await page.evaluate(() => (window as unknown as PageWindow).socket.disconnect());
    await page.reload();
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 5000 });
    const again = await connectInPage(page);
    assert.deepEqual([again.transport, again.path], ['longpoll', ['connect', 'opened']]);
    assert.equal(refusedUpgrades, refusedBefore + 1);
    assert.deepEqual(errors, []);
  } finally {
    await page.evaluate(() => (window as unknown as { socket?: PageSocket }).socket?.disconnect()).catch(() => {});
    await page.close();
    await server.close();
  }
});

test('the stock phoenix.js client behind the same proxy falls back to long-poll and works', async () => {
  const server = await startServer();
  const { page, errors } = await openPage();
  try {
    const result = await page.evaluate(async (url) => {
      const { Socket } = (await import('/phoenix.mjs' as string)) as typeof import('phoenix');
      const socket = new Socket(url, { longPollFallbackMs: 1000, params: { user: 'stock' } });
      socket.connect();
      const room = socket.channel('room:stock', {});
      const joined = await new Promise((resolve) => room.join().receive('ok', resolve).receive('error', resolve));
      const echo = await new Promise((resolve) => room.push('echo', { stock: true }).receive('ok', resolve));
      // phoenix.js keeps the class it connects with in `transport` (not in its typings).
      const transport = (socket as unknown as { transport: unknown }).transport === WebSocket ? 'websocket' : 'longpoll';
      socket.disconnect();
      return { joined, echo, transport, memo: sessionStorage.getItem('phx:fallback:LongPoll') };
    }, `ws://${proxyUrl.slice('http://'.length)}/socket`);
    assert.deepEqual(result, { joined: { joined: true }, echo: { stock: true }, transport: 'longpoll', memo: 'true' });
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    await server.close();
  }
});
