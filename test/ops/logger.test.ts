import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, loggingObserver } from '../../src/ops/logger.ts';
import type { LogLevel } from '../../src/ops/config.ts';

function capture(level: LogLevel) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level, destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { logger, lines };
}

test('at info the observer leaves out every per-message hook, so the server never calls one', () => {
  const { logger } = capture('info');
  const observer = loggingObserver(logger);
  for (const hook of ['frameIn', 'frameOut', 'handled', 'broadcast', 'heartbeat', 'channelJoined'] as const) {
    assert.equal(observer[hook], undefined, hook);
  }
  assert.equal(typeof observer.connectionOpened, 'function');
  assert.equal(typeof observer.error, 'function');
});

test('at warn even connection lifecycle hooks are left out', () => {
  const observer = loggingObserver(capture('warn').logger);
  assert.equal(observer.connectionOpened, undefined);
  assert.equal(typeof observer.slowConsumer, 'function');
  assert.deepEqual(Object.keys(loggingObserver(capture('silent').logger)), []);
});

test('at trace every hook writes a structured line with its level and fields', () => {
  const { logger, lines } = capture('trace');
  const observer = loggingObserver(logger);
  observer.frameIn?.({ connectionId: 'c1', bytes: 42 });
  observer.connectionClosed?.({ id: 'c1', code: 4001, reason: 'slow consumer', durationMs: 12, transport: 'websocket' });
  observer.error?.(new Error('boom'), 'handler');
  assert.equal(lines.length, 3);
  assert.deepEqual(
    { level: lines[0].level, msg: lines[0].msg, bytes: lines[0].bytes, component: lines[0].component },
    { level: 10, msg: 'frame in', bytes: 42, component: 'server' },
  );
  assert.equal(lines[1].code, 4001);
  assert.equal(lines[1].level, 30);
  assert.equal((lines[2].err as { message: string }).message, 'boom');
  assert.equal(lines[2].level, 50);
});

test('tokens are redacted wherever they are logged', () => {
  const { logger, lines } = capture('info');
  logger.info({ token: 's3cret', config: { adminToken: 'adm1n', port: 1 }, params: { token: 't0k' } }, 'start');
  const text = JSON.stringify(lines);
  assert.doesNotMatch(text, /s3cret|adm1n|t0k/);
  assert.match(text, /\[redacted\]/);
});

test('pretty format: one readable line per record, fields after the message', () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', format: 'pretty', destination: { write: (s: string) => void lines.push(s) } });
  loggingObserver(logger).connectionClosed?.({ id: 'c1', code: 4000, reason: 'idle timeout', durationMs: 61000, transport: 'websocket' });
  logger.error({ err: new Error('boom') }, 'failed');
  assert.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} INFO  connection closed id=c1 code=4000 reason=idle timeout durationMs=61000 transport=websocket\n$/);
  assert.match(lines[1], /ERROR failed err=boom\n$/);
});

test('auto format is JSON when the destination is not a terminal', () => {
  const lines: string[] = [];
  createLogger({ level: 'info', format: 'auto', destination: { write: (s: string) => void lines.push(s) } }).info('x');
  assert.equal(JSON.parse(lines[0]).msg, 'x');
});
