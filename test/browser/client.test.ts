/**
 * The browser bundle in real headless Chromium: a page loads dist/tether-client.js, connects, joins, pushes
 * and survives a server restart; pushes accepted while offline survive a page reload in IndexedDB and are
 * sent once the server is back.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import { buildClientBundle } from '../../scripts/build-client-bundle.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { createServer, ok, type ChannelDefinition, type TetherServer } from '../../src/server/index.ts';


let browser: Browser;
let page: Page;
let http: Server;
let pageUrl: string;
const errors: string[] = [];

before(async () => {
  const bundle = await buildClientBundle();
  const source = readFileSync(bundle, 'utf8');
  for (const nodeOnly of ['DatabaseSync', 'node:sqlite', 'Sec-WebSocket-Key']) {
    assert.ok(!source.includes(nodeOnly), `the browser bundle must not contain ${nodeOnly}`);
  }
  const files: Record<string, [string, string]> = {
    '/': [readFileSync(new URL('./fixtures/client/index.html', import.meta.url), 'utf8'), 'text/html'],
    '/tether-client.js': [readFileSync(bundle, 'utf8'), 'text/javascript'],
  };
  http = createHttpServer((req, res) => {
    const file = files[req.url ?? '/'];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[1] }).end(file[0]);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}/`;
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (err) => errors.push(err.message));
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => http?.close(resolve));
});

async function loadPage(): Promise<void> {
  await page.goto(pageUrl);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 5000 });
}

async function startServer(port: number, channels: Record<string, ChannelDefinition>): Promise<{ server: TetherServer; port: number }> {
  const server = createServer({ port, host: '127.0.0.1', channels });
  const info = await server.listen();
  return { server, port: info.port };
}

test('the bundle connects, joins, pushes, and survives a server restart', async () => {
  let { server, port } = await startServer(0, { 'room:*': roomChannel });
  try {
    await loadPage();
    const first = await page.evaluate(async (url) => {
      const w = window as unknown as { tether: typeof import('../../src/client/browser-entry.ts'); socket: unknown; room: unknown };
      const socket = new w.tether.Socket(url, { reconnect: () => 50, params: { user: 'page' } });
      socket.connect();
      const room = socket.channel('room:browser');
      w.socket = socket;
      w.room = room;
      const joined = await room.join();
      const echo = await room.request('echo', { from: 'chromium' });
      const bytes = await room.request('binary', new Uint8Array([7, 8, 9]));
      return { joined: joined.status, echo, bytes: [...(bytes as Uint8Array)], state: socket.state };
    }, `ws://127.0.0.1:${port}/socket`);
    assert.deepEqual(first, { joined: 'ok', echo: { from: 'chromium' }, bytes: [7, 8, 9], state: 'open' });
    await server.close();
    await page.waitForFunction(() => (window as unknown as { socket: { state: string } }).socket.state !== 'open', null, { timeout: 5000 });
    ({ server } = await startServer(port, { 'room:*': roomChannel }));
    await page.waitForFunction(() => (window as unknown as { room: { state: string } }).room.state === 'joined', null, { timeout: 5000 });
    const after = await page.evaluate(async () => {
      const w = window as unknown as { socket: { stats(): { reconnects: number } }; room: { request(e: string, p: object): Promise<unknown> } };
      return { echo: await w.room.request('echo', { again: true }), reconnects: w.socket.stats().reconnects };
    });
    assert.deepEqual(after, { echo: { again: true }, reconnects: 1 });
    assert.deepEqual(errors, []);
  } finally {
    await page.evaluate(() => (window as unknown as { socket?: { disconnect(): Promise<void> } }).socket?.disconnect());
    await server.close();
  }
});

test('pushes accepted offline survive a page reload in IndexedDB and are sent once the server is back', async () => {
  const probe = await startServer(0, { 'room:*': roomChannel });
  const port = probe.port;
  await probe.server.close();
  const url = `ws://127.0.0.1:${port}/socket`;
  const boot = async (wsUrl: string) => {
    const w = window as unknown as { tether: typeof import('../../src/client/browser-entry.ts'); socket: unknown; settled: string[] };
    const store = new w.tether.IndexedDbOutboxStore({ database: 'tether-test' });
    const socket = new w.tether.Socket(wsUrl, { reconnect: () => 50, outbox: { store } });
    w.settled = [];
    socket.on('settled', (s) => w.settled.push(`${s.id}:${s.result.status}`));
    await socket.ready;
    socket.connect();
    const room = socket.channel('room:idb');
    room.join();
    w.socket = socket;
    return { room, depth: socket.stats().outboxDepth };
  };
  await loadPage();
  const ids = await page.evaluate(async ([wsUrl, bootSource]) => {
    const run = new Function(`return (${bootSource})`)() as (u: string) => Promise<{ room: { push(e: string, p: object): { id: string; persisted: Promise<void> } } }>;
    const { room } = await run(wsUrl);
    const pushes = [1, 2, 3, 4, 5].map((n) => room.push('echo', { n }));
    await Promise.all(pushes.map((p) => p.persisted));
    return pushes.map((p) => p.id);
  }, [url, boot.toString()] as const);
  assert.equal(ids.length, 5);
  await page.reload();
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 5000 });
  const restored = await page.evaluate(async ([wsUrl, bootSource]) => {
    const run = new Function(`return (${bootSource})`)() as (u: string) => Promise<{ depth: number }>;
    return (await run(wsUrl)).depth;
  }, [url, boot.toString()] as const);
  assert.equal(restored, 5, 'all five came back from IndexedDB after the reload');
  const seen: number[] = [];
  const recorder: ChannelDefinition = { join: () => ok({}), handleIn: (_event, payload) => (seen.push((payload as { n: number }).n), ok(payload)) };
  const { server } = await startServer(port, { 'room:*': recorder });
  try {
    await page.waitForFunction(() => (window as unknown as { settled: string[] }).settled.length === 5, null, { timeout: 5000 });
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    const settled = await page.evaluate(() => (window as unknown as { settled: string[] }).settled);
    assert.deepEqual(settled, ids.map((id) => `${id}:ok`), 'the same ids, each acknowledged once');
    assert.deepEqual(errors, []);
  } finally {
    await page.evaluate(() => (window as unknown as { socket?: { disconnect(): Promise<void> } }).socket?.disconnect());
    await server.close();
  }
});

test('in the page, an "online" event reconnects at once instead of waiting out the backoff; disconnect() stays final', async () => {
  const probe = await startServer(0, { 'room:*': roomChannel });
  const port = probe.port;
  await probe.server.close();
  await loadPage();
  await page.evaluate(async (url) => {
    const w = window as unknown as { tether: typeof import('../../src/client/browser-entry.ts'); socket: unknown };
    const socket = new w.tether.Socket(url, { reconnect: () => 60_000 });
    w.socket = socket;
    socket.connect();
  }, `ws://127.0.0.1:${port}/socket`);
  await page.waitForFunction(() => (window as unknown as { socket: { state: string } }).socket.state === 'reconnecting', null, { timeout: 5000 });
  const { server } = await startServer(port, { 'room:*': roomChannel });
  try {
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    await page.waitForFunction(() => (window as unknown as { socket: { state: string } }).socket.state === 'open', null, { timeout: 3000 });
    const afterDisconnect = await page.evaluate(async () => {
      const socket = (window as unknown as { socket: { state: string; disconnect(): Promise<void> } }).socket;
      await socket.disconnect();
      window.dispatchEvent(new Event('online'));
      window.dispatchEvent(new Event('pageshow'));
      await new Promise((r) => setTimeout(r, 200));
      return socket.state;
    });
    assert.equal(afterDisconnect, 'closed');
  } finally {
    await server.close();
  }
});
