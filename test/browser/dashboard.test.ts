/**
 * The dashboard in real headless Chromium against a real server: the page joins the admin channel, a
 * connection opened by the test shows up within 2 s, abnormal disconnects are listed, a worker of `--workers`
 * lists the machine's workers in the header, and a screenshot is
 * saved to test-artifacts/dashboard.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import WebSocket from 'ws';
import { Socket } from '../../src/client/socket.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { prepareOperations, type Operations } from '../../src/ops/operations.ts';
import { createServer, type TetherServer } from '../../src/server/server.ts';


let ops: Operations;
let server: TetherServer;
let browser: Browser;
let page: Page;
let url: string;
let httpUrl: string;
const clients: Socket[] = [];

before(async () => {
  ops = await prepareOperations({ flags: { port: 0, logLevel: 'silent' }, env: {}, cwd: '/', sampleIntervalMs: 200 });
  server = createServer({ ...ops.serverOptions, channels: { 'room:*': roomChannel, ...ops.channels } });
  ops.attach(server);
  ({ url, httpUrl } = await server.listen());
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await browser?.close();
  ops?.detach();
  await server?.close();
});

async function joinedClient(user: string, topic: string) {
  const socket = new Socket(url, { params: { user } });
  clients.push(socket);
  socket.connect();
  const channel = socket.channel(topic);
  const result = await channel.join();
  assert.equal(result.status, 'ok');
  return { socket, channel };
}

test('the dashboard shows a new connection within 2 s, its topic and presence, and abnormal disconnects', async () => {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  await page.goto(httpUrl);
  await page.waitForSelector('#status.live', { timeout: 5000 });
  await page.waitForFunction(() => document.getElementById('kpi-connections')?.textContent === '1', null, { timeout: 3000 });

  const opened = Date.now();
  await joinedClient('ada', 'room:lobby');
  await page.waitForFunction(
    () =>
      document.getElementById('kpi-connections')?.textContent === '2' &&
      [...document.querySelectorAll('#topics tbody tr')].some((tr) => tr.textContent?.includes('room:lobby') && tr.textContent.includes('ada')),
    null,
    { timeout: 2000 },
  );
  const seenAfter = Date.now() - opened;
  assert.ok(seenAfter < 2000, `seen after ${seenAfter} ms`);

  // Traffic for the charts, a refused upgrade and a connection closed for an undecodable frame.
  const more = await Promise.all([
    joinedClient('grace', 'room:lobby'),
    joinedClient('linus', 'room:ops'),
    joinedClient('barbara', 'room:ops'),
    joinedClient('ken', 'room:alerts'),
  ]);
  const refused = new WebSocket(`${url}/websocket?vsn=3.0.0`);
  await new Promise((resolve) => refused.once('error', resolve));
  const raw = new WebSocket(`${url}/websocket?vsn=2.0.0`);
  await new Promise((resolve) => raw.once('open', resolve));
  raw.send('not a frame');
  await new Promise((resolve) => raw.once('close', resolve));

  const until = Date.now() + 2500;
  let n = 0;
  while (Date.now() < until) {
    for (const { channel } of more) {
      channel.push('echo', { n: n++ });
      if (n % 3 === 0) channel.push('shout', { n });
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await page.waitForFunction(
    () => [...document.querySelectorAll('#events .badge')].some((b) => b.textContent?.startsWith('1007')),
    null,
    { timeout: 2000 },
  );
  await page.waitForFunction(
    () => [...document.querySelectorAll('#events .badge.rejected')].some((b) => b.textContent === '403'),
    null,
    { timeout: 2000 },
  );
  assert.equal(await page.$eval('#tasks', (section) => (section as HTMLElement).hidden), true, 'no Tasks view without task queues');
  const rates = await page.textContent('#kpi-in');
  assert.ok(Number.parseFloat(rates ?? '0') > 0, `messages in per second shown: ${rates}`);

  mkdirSync('test-artifacts', { recursive: true });
  await page.screenshot({ path: 'test-artifacts/dashboard.png', fullPage: true });
  assert.deepEqual(errors, []);
});

test('with an admin token: sign-in page, token kept out of the address bar, wrong tokens refused', async () => {
  const guarded = await prepareOperations({ flags: { port: 0, logLevel: 'silent', adminToken: 'right' }, env: {}, cwd: '/' });
  const guardedServer = createServer({ ...guarded.serverOptions, channels: guarded.channels });
  guarded.attach(guardedServer);
  const info = await guardedServer.listen();
  try {
    assert.equal((await fetch(info.httpUrl)).status, 401);
    assert.equal((await fetch(`${info.httpUrl}/?token=wrong`)).status, 401);
    const tab = await browser.newPage();
    await tab.goto(`${info.httpUrl}/?token=right`);
    await tab.waitForSelector('#status.live', { timeout: 5000 });
    await tab.waitForFunction(() => document.getElementById('kpi-connections')?.textContent === '1', null, { timeout: 3000 });
    assert.equal(new URL(tab.url()).search, '', 'the token left the address bar');
    await tab.close();
    const socket = new Socket(info.url);
    socket.connect();
    const wrong = await socket.channel('tether:admin', { admin_token: 'wrong' }).join();
    assert.equal(wrong.status, 'error');
    const right = await socket.channel('tether:admin', { admin_token: 'right' }).join();
    assert.equal(right.status, 'ok');
    await socket.disconnect();
  } finally {
    guarded.detach();
    await guardedServer.close();
  }
});

test('a worker of tether serve --workers shows every worker of the machine in the header, and follows the list', async () => {
  let rows = [
    { node: 'node-ab-w1', pid: 101, connections: 3, restarts: 0 },
    { node: 'node-ab-w2', pid: 102, connections: 12_345, restarts: 1 },
  ];
  const worker = await prepareOperations({
    flags: { port: 0, logLevel: 'silent' },
    env: {},
    cwd: '/',
    sampleIntervalMs: 200,
    worker: { workers: () => rows },
  });
  const workerServer = createServer({ ...worker.serverOptions, channels: worker.channels });
  worker.attach(workerServer);
  const info = await workerServer.listen();
  const tab = await browser.newPage();
  try {
    await tab.goto(info.httpUrl);
    await tab.waitForSelector('#status.live', { timeout: 5000 });
    assert.equal(await tab.textContent('#workers'), 'workers w1 3 · w2 12.3k');
    assert.match((await tab.getAttribute('#workers', 'title')) ?? '', /node-ab-w2 \(pid 102\): 12345 connections, 1 restarts/);
    rows = [{ ...rows[0], connections: 4 }, { node: 'node-ab-w2', pid: 103, connections: 0, restarts: 2 }];
    await tab.waitForFunction(() => document.getElementById('workers')?.textContent === 'workers w1 4 · w2 0', null, { timeout: 2000 });
  } finally {
    await tab.close();
    worker.detach();
    await workerServer.close();
  }
});
