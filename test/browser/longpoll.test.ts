/**
 * The stock phoenix.js LongPoll transport in real Chromium (XMLHttpRequest, CORS preflights) against the server
 * on another origin: a page of an allowed origin joins, pushes (JSON and binary), receives broadcasts and sends
 * its authToken in X-Phoenix-AuthToken; a page of any other origin cannot open a session.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { createServer, ok, type TetherServer } from '../../src/server/index.ts';

const PHOENIX_JS = readFileSync(new URL('../../node_modules/phoenix/priv/static/phoenix.js', import.meta.url), 'utf8');
const PAGE = '<!doctype html><meta charset="utf-8"><title>long-poll</title><script src="/phoenix.js"></script>';

let browser: Browser;
let server: TetherServer;
let endpoint: string;
const pages: Server[] = [];
const rejected: string[] = [];

/** A page server on its own port: a different origin from the Tether server. */
async function pageOrigin(): Promise<string> {
  const http = createHttpServer((req, res) => {
    if (req.url === '/phoenix.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(PHOENIX_JS);
    res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  });
  pages.push(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return `http://localhost:${(http.address() as { port: number }).port}`;
}

let allowed: string;
let other: string;

before(async () => {
  allowed = await pageOrigin();
  other = await pageOrigin();
  server = createServer({
    port: 0,
    host: '127.0.0.1',
    allowedOrigins: [allowed],
    channels: {
      'room:*': roomChannel,
      'bytes:*': { join: () => ok({}), handleIn: (_e, payload) => ok(payload instanceof Uint8Array ? { bytes: [...payload] } : { json: payload }) },
    },
    connect: ({ authToken }) => authToken === 'browser-token',
  });
  server.observe({ connectionRejected: (i) => rejected.push(i.reason) });
  endpoint = (await server.listen()).url;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  for (const http of pages) await new Promise((resolve) => http.close(resolve));
});

async function open(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  return page;
}

type PageGlobals = { Phoenix: typeof import('phoenix'); announced: Promise<unknown>; socket: import('phoenix').Socket };

test('a page of an allowed origin: preflighted POSTs, authToken header, join, JSON and binary pushes, a broadcast from the server', async () => {
  const page = await open(allowed);
  const first = await page.evaluate(async (url) => {
    const w = window as unknown as PageGlobals;
    const P = w.Phoenix;
    const socket = (w.socket = new P.Socket(url, { transport: P.LongPoll, authToken: 'browser-token', params: { user: 'browser' } }));
    const opened = new Promise<void>((resolve) => socket.onOpen(() => resolve()));
    socket.connect();
    await opened;
    const reply = (ch: import('phoenix').Channel, event: string, payload: object | ArrayBuffer) =>
      new Promise((resolve) => ch.push(event, payload).receive('ok', resolve).receive('error', resolve).receive('timeout', () => resolve('timeout')));
    const room = socket.channel('room:browser');
    const joined = await new Promise((resolve) => room.join().receive('ok', resolve).receive('error', resolve));
    w.announced = new Promise((resolve) => room.on('announce', resolve));
    const echo = await reply(room, 'echo', { from: 'page' });
    const bytes = socket.channel('bytes:browser');
    await new Promise((resolve) => bytes.join().receive('ok', resolve));
    const binary = await reply(bytes, 'raw', new Uint8Array([9, 8, 7]).buffer);
    return { joined, echo, binary };
  }, endpoint);
  assert.deepEqual(first, { joined: { joined: true }, echo: { from: 'page' }, binary: { bytes: [9, 8, 7] } });
  assert.deepEqual(await server.broadcast('room:browser', 'announce', { from: 'server' }), { ok: true });
  const announced = await page.evaluate(async () => {
    const w = window as unknown as PageGlobals;
    const value = await w.announced;
    w.socket.disconnect();
    return value;
  });
  assert.deepEqual(announced, { from: 'server' });
  await page.close();
});

test('a page of another origin cannot open a session: refused (403, no CORS header), the socket never opens', async () => {
  const before = rejected.length;
  // A long-poll client that went away leaves its session until longPollIdleMs: count only new ones.
  const sessions = server.connectionCount;
  const page = await open(other);
  const opened = await page.evaluate(async (url) => {
    const P = (window as unknown as PageGlobals).Phoenix;
    const socket = new P.Socket(url, { transport: P.LongPoll, authToken: 'browser-token', reconnectAfterMs: () => 100 });
    let open = false;
    socket.onOpen(() => {
      open = true;
    });
    const errored = new Promise<void>((resolve) => socket.onError(() => resolve()));
    socket.connect();
    await errored;
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.disconnect();
    return open;
  }, endpoint);
  assert.equal(opened, false);
  assert.ok(rejected.slice(before).some((r) => r.startsWith(`origin ${other}`)), rejected.join('; '));
  assert.equal(server.connectionCount, sessions);
  await page.close();
});
