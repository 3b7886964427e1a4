/**
 * The dashboard's Tasks view in real Chromium against a real `tether serve --redis --tasks Q` process with a real
 * BullMQ producer and worker: the queue's counters, a running task's progress bar and a failure with its message
 * appear, fed through the admin channel. A screenshot is saved to test-artifacts/dashboard-tasks.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createClient } from 'redis';
import { launchChromium } from '../helpers/browser.ts';
import { startServe, type Running } from '../helpers/serve-process.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1' : undefined;
const queueName = `dash${process.pid}`;
// `tether serve` reads BullMQ's default prefix; the queue name is unique to this process and obliterated after.
const bullPrefix = 'bull';
const redisPrefix = `t${process.pid}dash:`;
let browser: Browser | undefined;
let running: Running | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await browser?.close();
  if (running) {
    running.child.kill('SIGTERM');
    await running.exited;
  }
  if (skip) return;
  const client = createClient({ url: redisUrl });
  await client.connect();
  for (const match of [`${redisPrefix}*`, `${bullPrefix}:${queueName}:*`]) {
    for await (const keys of client.scanIterator({ MATCH: match, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
  }
  await client.close();
});

test('the Tasks view shows the queue counters, a running task with its progress bar and a failure with its message', { skip, timeout: 60_000 }, async () => {
  running = await startServe(['--redis', redisUrl, '--redis-prefix', redisPrefix, '--tasks', queueName]);
  const { Queue, Worker } = await import('bullmq');
  const { bullConnection } = await import('../../src/tasks/server/bullmq-bridge.ts');
  const connection = bullConnection(redisUrl);
  const queue = new Queue(queueName, { connection, prefix: bullPrefix });
  cleanups.push(() => queue.close(), () => queue.obliterate({ force: true }));
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const worker = new Worker(
    queueName,
    async (job) => {
      if (job.name === 'fail') throw new Error('disk full on volume 7');
      await job.updateProgress(40);
      if (job.name === 'hold') await held;
      else await job.updateProgress(100);
    },
    { connection, prefix: bullPrefix, concurrency: 4 },
  );
  cleanups.push(() => worker.close(true));
  cleanups.push(async () => release());

  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1440, height: 1400 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  await page.goto(running.httpUrl);
  await page.waitForSelector('#status.live', { timeout: 10_000 });
  await page.waitForSelector('#tasks:not([hidden])', { timeout: 5000 });

  await queue.add('ok', {}, { jobId: 'done-1' });
  await queue.add('ok', {}, { jobId: 'done-2' });
  await queue.add('fail', {}, { jobId: 'broken-1', attempts: 1 });
  await queue.add('hold', {}, { jobId: 'long-1' });

  const bar = `#running li[data-task="${queueName}:long-1"] .bar[aria-valuenow="40"] i`;
  await page.waitForSelector(bar, { timeout: 15_000 });
  assert.equal(await page.$eval(bar, (i) => (i as HTMLElement).style.width), '40%');
  await page.waitForFunction(
    (q) => document.querySelector(`#failures li[data-task="${q}:broken-1"] .detail`)?.textContent === 'disk full on volume 7',
    queueName,
    { timeout: 15_000 },
  );
  // The bridge polls the counters (every second by default), so they may trail the task events a little.
  const figures = `#task-queues [data-queue="${queueName}"] .queue-figures`;
  await page.waitForFunction(
    (selector) => {
      const read = (name: string) => document.querySelector(`${selector} [data-counter="${name}"] b`)?.textContent;
      return read('total') === '4' && read('running') === '1' && read('completed') === '2' && read('failed') === '1';
    },
    figures,
    { timeout: 15_000 },
  );
  // Let the chart gather a few points for the screenshot.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  mkdirSync('test-artifacts', { recursive: true });
  await page.screenshot({ path: 'test-artifacts/dashboard-tasks.png', fullPage: true });

  release();
  await page.waitForFunction((q) => !document.querySelector(`#running li[data-task="${q}:long-1"]`), queueName, { timeout: 15_000 });
  assert.deepEqual(errors, []);
});
