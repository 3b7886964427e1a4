/**
 * examples/task-queue in real Chromium: the page watches a BullMQ queue through Tether and must show every task
 * at completed or failed with its final progress (100, or 60 for the ones failing at 70 %).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient } from 'redis';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import { startExample } from '../../examples/task-queue/example.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1' : undefined;
const prefix = `t${process.pid}example:`;
const JOBS = 14;
let browser: Browser | undefined;
let stop: (() => Promise<void>) | undefined;

after(async () => {
  await browser?.close();
  await stop?.();
  if (skip) return;
  const client = createClient({ url: redisUrl });
  await client.connect();
  for (const match of [`${prefix}*`, `t${process.pid}example-bull:*`]) {
    for await (const keys of client.scanIterator({ MATCH: match, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
  }
  await client.close();
});

test('a watcher page sees every task reach completed or failed with its final progress', { skip, timeout: 60_000 }, async () => {
  const example = await startExample({ redisUrl, port: 0, queue: `example${process.pid}`, jobs: 0, prefix, stepMs: 20 });
  stop = example.stop;
  browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(example.url);
  await page.waitForFunction(() => document.getElementById('link')?.textContent === 'open', null, { timeout: 10_000 });
  // Jobs are added once the page watches, so it sees each from its creation.
  const { Queue } = await import('bullmq');
  const { bullConnection } = await import('../../src/tasks/server/bullmq-bridge.ts');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const queue = new Queue(`example${process.pid}`, { connection: bullConnection(redisUrl), prefix: `t${process.pid}example-bull` });
  await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'demo', data: { fail: i % 7 === 6 }, opts: { jobId: `job-${i + 1}` } })));
  await queue.close();
  await page.waitForFunction((n) => Object.values(window.taskView).filter((t) => t.status === 'completed' || t.status === 'failed').length === n, JOBS, { timeout: 30_000 });
  const view = await page.evaluate(() => window.taskView);
  for (let i = 1; i <= JOBS; i++) {
    const failing = (i - 1) % 7 === 6;
    assert.deepEqual(view[`job-${i}`], failing ? { status: 'failed', progress: 60 } : { status: 'completed', progress: 100 }, `job-${i}`);
  }
  // The counters are polled by the bridge (every 250 ms here), so they may trail the task events a little.
  const counters = `${JOBS - 2} completed · 2 failed`;
  await page.waitForFunction((text) => document.getElementById('counters')?.textContent?.endsWith(text) === true, counters, { timeout: 10_000 });
  assert.match((await page.textContent('#counters')) ?? '', new RegExp(`^${JOBS} total · 0 pending · 0 running · ${counters}$`));
  assert.deepEqual(errors, []);
});
