/**
 * A bounded live fuzz for `npm test`: 6 connections (two of each profile) of random frames against an in-process server shaped like
 * the demo, while a well-behaved client keeps echoing. Any uncaught exception would end this process and fail
 * the file. Longer runs against `tether serve`: `npm run fuzz -- --seconds 60`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertServes, startProbeServer } from './probe-kit.ts';
import { errorKind } from '../../src/ops/metrics.ts';
import { formatCounts, fuzzServer } from './fuzz-engine.ts';

const seconds = Number(process.env.FUZZ_SECONDS ?? 4);
/** What a fuzz connection may be closed with: the client's own 1000, or a documented refusal. */
const DOCUMENTED = new Set(['1000', '1002', '1007', '1009', '4002', 'http 403']);
/** What a long-poll fuzz request may be answered with (`lp error` is the fuzzer's own poll timeout). */
const LONG_POLL_DOCUMENTED = new Set(['lp 200', 'lp 204', 'lp 410', 'lp 400', 'lp 403', 'lp 413', 'lp error']);

test(`live fuzz: ${seconds} s of random frames from 6 connections and a long-poll peer; every close is documented and the well-behaved client never misses a reply`, async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  const s = await startProbeServer();
  const report = await fuzzServer({ url: s.url, connections: 6, longPoll: 1, durationMs: seconds * 1000, seed });
  console.log(`fuzz seed ${seed}: ${report.framesSent} frames over ${report.connectionsOpened} connections; closes: ${formatCounts(report.closes)}; echo ${report.echo.roundTrips} round trips, ${report.echo.failures} failures, max ${report.echo.maxMs.toFixed(1)} ms`);
  const kinds = new Map<string, number>();
  for (const { context } of s.errors) kinds.set(errorKind(context), (kinds.get(errorKind(context)) ?? 0) + 1);
  console.log(`errors reported by kind: ${formatCounts(kinds)}`);
  assert.ok(report.framesSent > 100, `frames sent: ${report.framesSent}`);
  assert.equal(report.echo.failures, 0, `seed ${seed}: ${report.echo.failuresDetail.join('\n')}`);
  assert.ok(report.echo.roundTrips > 10);
  for (const code of report.closes.keys()) assert.ok(DOCUMENTED.has(code) || LONG_POLL_DOCUMENTED.has(code), `seed ${seed}: undocumented close ${code}`);
  assert.ok((report.closes.get('lp 200') ?? 0) > 10, 'the long-poll peers got through');
  // Routing never threw: a throw there closes with 1011 and is reported as `route`.
  assert.deepEqual(s.errors.filter((e) => e.context.startsWith('route')), []);
  await assertServes(s);
});
