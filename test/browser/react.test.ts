/**
 * tether-rt/react in real Chromium: the docs' chat (examples/react-chat, React 19 development build, StrictMode
 * on) bundled with esbuild, served with its chat server, beside stock phoenix.js clients in the same room.
 * StrictMode's double mount joins once; the presence list equals the stock Presence's; a burst of 1,000
 * events renders at most 10 times; unmounting leaves (the server sees it); a server restart reconnects,
 * rejoins and shows the room again.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Presence as PhoenixPresence, Socket as PhoenixSocket, type Channel as PhoenixChannel } from 'phoenix';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import { createFaultyLink } from '../../src/testing/index.ts';
import { pollUntil as waitFor } from '../helpers/poll.ts';
import { buildChatBundle, startChatServer, type ChatServer } from '../../examples/react-chat/server.ts';
import type { ReactProbe } from './fixtures/react/harness.tsx';

type Seen = { connections: number; joins: string[]; leaves: string[] };

let browser: Browser;
let page: Page;
let bundle: string;
let chat: ChatServer;
const seen: Seen = { connections: 0, joins: [], leaves: [] };
const pageErrors: string[] = [];
const warnings: string[] = [];
const phoenixSockets: PhoenixSocket[] = [];

async function serve(port = 0): Promise<void> {
  chat = await startChatServer({ bundle, port });
  chat.tether.observe({
    connectionOpened: () => seen.connections++,
    channelJoined: ({ topic }) => seen.joins.push(topic),
    channelLeft: ({ topic, reason }) => seen.leaves.push(`${topic}:${reason}`),
  });
}

before(async () => {
  bundle = await buildChatBundle(new URL('./fixtures/react/harness.tsx', import.meta.url).pathname);
  for (const nodeOnly of ['DatabaseSync', 'node:sqlite']) assert.ok(!bundle.includes(nodeOnly), `the page bundle must not contain ${nodeOnly}`);
  await serve();
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'warning' || msg.type() === 'error') warnings.push(msg.text());
  });
});

after(async () => {
  for (const socket of phoenixSockets) socket.disconnect();
  await browser?.close();
  await chat?.close();
});

/** A stock phoenix.js client in the room, with its Presence. */
function stockClient(user: string): { channel: PhoenixChannel; presence: PhoenixPresence } {
  const socket = new PhoenixSocket(`ws://127.0.0.1:${chat.port}/socket`, { params: { user }, reconnectAfterMs: () => 50, rejoinAfterMs: () => 50 });
  phoenixSockets.push(socket);
  socket.connect();
  const channel = socket.channel('chat:lobby');
  const presence = new PhoenixPresence(channel);
  channel.join();
  return { channel, presence };
}

const probe = <K extends 'commits' | 'messages' | 'presence' | 'arrivals' | 'seenLabel'>(key: K): Promise<ReactProbe[K]> =>
  page.evaluate((k) => (window as unknown as { probe: ReactProbe }).probe[k], key) as Promise<ReactProbe[K]>;

/** Presence as a comparable set: keys sorted, each key's phx_refs sorted (clients may order them differently). */
const normalize = (list: [string, string[]][]) => JSON.stringify(list.map(([k, refs]) => [k, [...refs].sort()]).sort());

async function samePresence(stock: PhoenixPresence, keys: string[]): Promise<void> {
  const end = Date.now() + 8000;
  let ours = '';
  let theirs = '';
  while (Date.now() < end) {
    ours = normalize(await probe('presence'));
    theirs = normalize(stock.list((key, entry) => [key!, entry.metas.map((m: { phx_ref: string }) => m.phx_ref)] as [string, string[]]));
    if (ours === theirs && JSON.stringify(JSON.parse(theirs).map((e: [string]) => e[0])) === JSON.stringify(keys)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`the page's presence ${ours} should equal the stock Presence's ${theirs} with keys ${keys.join(', ')}`);
}

const status = () => page.textContent('#status');

test('the chat under StrictMode: one join per topic, presence equal to phoenix.js, push, a 1,000-event burst in at most 10 renders, leave on unmount, dev warning on mismatched params', async (t) => {
  await page.goto(`${chat.url}?user=ada`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'open / joined', null, { timeout: 8000 });
  assert.equal(seen.connections, 1, "StrictMode's remount of the provider kept its one connection");
  assert.deepEqual(await page.evaluate(() => (window as unknown as { probe: ReactProbe }).probe.transitions()), ['idle>connecting:connect', 'connecting>open:opened'], 'and never disconnected it');
  const stock = stockClient('stock');
  stockClient('ada');
  await samePresence(stock.presence, ['ada', 'stock']);
  const adaRefs = (await probe('presence')).find(([k]) => k === 'ada')![1];
  assert.equal(adaRefs.length, 2, 'ada is in the page and in a second (stock) client: two metas');

  assert.deepEqual(seen.joins.filter((t) => t === 'chat:side'), ['chat:side'], 'StrictMode mounted Side twice; one join');
  assert.equal(seen.joins.filter((t) => t === 'chat:lobby').length, 3, 'one join from the page (Chat and Probe share it) and one per stock client');
  assert.deepEqual(seen.leaves, []);

  const received: string[] = [];
  stock.channel.on('message', (m: { user: string; body: string }) => void received.push(`${m.user}: ${m.body}`));
  await page.fill('input', 'hello from react');
  await page.press('input', 'Enter');
  await waitFor(() => received.includes('ada: hello from react'), 'the stock client to get the message');
  await page.waitForFunction(() => document.querySelector('#messages li:last-child')?.textContent === 'ada: hello from react', null, { timeout: 5000 });

  await page.evaluate(() => ((window as unknown as { probe: ReactProbe }).probe.arrivals.n = 0));
  const before = { commits: await probe('commits'), messages: await probe('messages') };
  for (let i = 0; i < 1000; i++) chat.tether.broadcast('chat:lobby', 'message', { user: 'bot', body: `n${i}` });
  await page.waitForFunction((n) => (window as unknown as { probe: ReactProbe }).probe.messages === n, before.messages + 1000, { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelector('#messages li:last-child')?.textContent === 'bot: n999', null, { timeout: 5000 });
  const renders = (await probe('commits')) - before.commits;
  const a = await probe('arrivals');
  t.diagnostic(`1,000 events arrived over ${(a.last - a.first).toFixed(0)} ms / ${a.lastFrame - a.firstFrame + 1} frames -> ${renders} commits of the chat tree (load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
  assert.ok(renders >= 1 && renders <= 10, `1,000 events rendered ${renders} times; at most 10 allowed`);
  assert.equal(await page.locator('#messages li').count(), 100, 'the chat keeps the last 100');

  await page.evaluate(() => (window as unknown as { probe: ReactProbe }).probe.setLabel('second'));
  await page.waitForFunction(() => (window as unknown as { probe: ReactProbe }).probe.label === 'second', null, { timeout: 5000 });
  chat.tether.broadcast('chat:lobby', 'message', { user: 'bot', body: 'after relabel' });
  await page.waitForFunction(() => (window as unknown as { probe: ReactProbe }).probe.seenLabel === 'second', null, { timeout: 5000 });

  await page.evaluate(() => (window as unknown as { probe: ReactProbe }).probe.setSide(false));
  await waitFor(() => seen.leaves.includes('chat:side:leave'), 'the server to see the leave of chat:side');
  // Mounted again on an open socket: StrictMode's second mount must not leave and rejoin.
  await page.evaluate(() => (window as unknown as { probe: ReactProbe }).probe.setSide(true));
  await page.waitForFunction(() => (window as unknown as { probe: ReactProbe }).probe.sideState === 'joined', null, { timeout: 5000 });
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(seen.joins.filter((t) => t === 'chat:side'), ['chat:side', 'chat:side'], 'one more join, not two');
  assert.deepEqual(seen.leaves, ['chat:side:leave'], 'and no leave from the StrictMode remount');

  await page.evaluate(() => (window as unknown as { probe: ReactProbe }).probe.setMismatch(true));
  await waitFor(() => warnings.some((w) => w.includes('useChannel("chat:lobby")') && w.includes('differ')), 'the mismatch warning');
  await page.evaluate(() => (window as unknown as { probe: ReactProbe }).probe.setMismatch(false));
  assert.equal(seen.joins.filter((t) => t === 'chat:lobby').length, 3, 'the mismatched component shared the channel');
  assert.deepEqual(seen.leaves, ['chat:side:leave'], 'unmounting one of two holders of chat:lobby left nothing');
  assert.deepEqual(pageErrors, []);
});

test('a server restart: the page reconnects, rejoins, and shows the room and its presence again', async () => {
  const { port } = chat;
  const stock = stockClient('grace');
  await samePresence(stock.presence, ['ada', 'grace', 'stock']);
  await chat.close();
  await page.waitForFunction(() => !document.getElementById('status')?.textContent?.startsWith('open'), null, { timeout: 5000 });
  await serve(port);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'open / joined', null, { timeout: 15_000 });
  await samePresence(stock.presence, ['ada', 'grace', 'stock']);
  await page.fill('input', 'back again');
  await page.press('input', 'Enter');
  await page.waitForFunction(() => document.querySelector('#messages li:last-child')?.textContent === 'ada: back again', null, { timeout: 5000 });
  assert.equal(await status(), 'open / joined');
  assert.deepEqual(pageErrors, []);
  const unexpected = warnings.filter((w) => !w.includes('useChannel("chat:lobby")') && !/WebSocket connection|ERR_CONNECTION_REFUSED|Failed to load resource/.test(w));
  assert.deepEqual(unexpected, [], 'no React warnings (keys, effects) in development mode');
});

test('a flaky network: links reset through a proxy, the page rejoins each time, a message typed meanwhile arrives once', async () => {
  const proxy = await createFaultyLink({ target: chat.port });
  const flaky = await browser.newPage();
  flaky.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    const stock = stockClient('watcher');
    const received: string[] = [];
    stock.channel.on('message', (m: { user: string; body: string }) => void received.push(`${m.user}: ${m.body}`));
    await flaky.goto(`http://127.0.0.1:${proxy.port}/?user=lin`);
    const count = (suffix: string) => `probe.transitions().filter((t) => t.endsWith('${suffix}')).length`;
    // Waits for the socket's own record (a render may lag by up to maxDelayMs), then for the page to show it.
    const rejoined = async (opens: number) => {
      await flaky.waitForFunction(`${count(':opened')} === ${opens} && probe.lobbyState() === 'joined'`, null, { timeout: 15_000 });
      await flaky.waitForFunction(() => document.getElementById('status')?.textContent === 'open / joined', null, { timeout: 5000 });
    };
    await rejoined(1);
    for (let cut = 1; cut <= 3; cut++) {
      proxy.resetAll();
      await flaky.waitForFunction(`${count(':transport_closed')} === ${cut}`, null, { timeout: 5000 });
      if (cut === 2) {
        await flaky.fill('input', 'typed while cut off');
        await flaky.press('input', 'Enter');
      }
      await rejoined(cut + 1);
    }
    await waitFor(() => received.includes('lin: typed while cut off'), 'the message typed while cut off');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received.filter((m) => m === 'lin: typed while cut off').length, 1, 'delivered once');
    await samePresence(stock.presence, ['ada', 'grace', 'lin', 'stock', 'watcher']);
    assert.deepEqual(pageErrors, []);
  } finally {
    await flaky.close();
    await proxy.close();
  }
});
