/**
 * What the node that takes over a drained node's fleet spends on it: CLIENTS opted-in WebSocket connections
 * arrive at once (as when their node drained and they moved at once), each joins a history topic on the
 * Redis broker from a position MISSED messages back, and gets its reply and replay. The server runs in this
 * process; the clients are plain `ws` sockets in a child process (so the figures are the server's, not a
 * client library's). Prints the wall time from the first connect to the last join reply, when the server
 * opened the connections and sent the replies, its CPU per rejoin, and how many history reads reached Redis.
 *
 * Usage: node bench/rejoin-burst.ts [--clients 2000] [--missed 10] [--runs 3] [--max-pending-handshakes N].
 * Needs Redis (REDIS_URL). A handshake the server cut is counted, not retried.
 */
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { RedisBroker } from '../src/broker/redis.ts';
import { createServer, ok } from '../src/server/index.ts';

const { values } = parseArgs({ options: { clients: { type: 'string' }, missed: { type: 'string' }, runs: { type: 'string' }, child: { type: 'string' }, 'max-pending-handshakes': { type: 'string' } } });
const CLIENTS = Number(values.clients ?? 2000);
const MISSED = Number(values.missed ?? 10);
const RUNS = Number(values.runs ?? 3);

if (values.child !== undefined) await clients(values.child);
else await main();

/** The child: opens every connection at once, joins on open, reports when each reply and the replay came. */
async function clients(spec: string): Promise<void> {
  const { url, topic, epoch, since, count, missed } = JSON.parse(spec) as { url: string; topic: string; epoch: string; since: number; count: number; missed: number };
  const started = Date.now();
  const done: number[] = [];
  const failed: string[] = [];
  const sockets: WebSocket[] = [];
  await new Promise<void>((resolve) => {
    const settled = () => done.length + failed.length === count && resolve();
    for (let i = 0; i < count; i++) {
      const ws = new WebSocket(url);
      sockets.push(ws);
      let frames = 0;
      ws.on('open', () => ws.send(JSON.stringify(['1', '1', topic, 'phx_join', {}, { since: { o: since, e: epoch } }])));
      ws.on('message', () => {
        // The reply, then `missed` replayed messages.
        if (++frames === missed + 1) {
          done.push(Date.now() - started);
          settled();
        }
      });
      // A refused or cut handshake: counted, not retried (a real client would come back after its retry delay).
      ws.on('error', (err) => {
        failed.push(err.message);
        settled();
      });
    }
  });
  process.send?.({ type: 'done', started, done, failed });
  for (const ws of sockets) ws.terminate();
}

async function main(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const broker = new RedisBroker({ url, keyPrefix: `rejoin-burst-${process.pid}:`, nodeId: 'b' });
  await broker.start();
  let reads = 0;
  const range = broker.history.range.bind(broker.history);
  broker.history.range = (topic, since) => {
    reads += 1;
    return range(topic, since);
  };
  const pendingCap = values['max-pending-handshakes'] === undefined ? {} : { maxPendingHandshakes: Number(values['max-pending-handshakes']) };
  const server = createServer({ port: 0, host: '127.0.0.1', broker, ...pendingCap, channels: { 'stream:*': { history: { maxMessages: 10_000, ttlMs: 120_000 }, join: () => ok() } } });
  const opens: number[] = [];
  const replies: number[] = [];
  server.observe({ connectionOpened: () => opens.push(Date.now()), channelJoined: () => replies.push(Date.now()) });
  const { port } = await server.listen();
  console.log(`${CLIENTS} rejoins at once, each ${MISSED} messages behind, history on Redis`);
  for (let run = 1; run <= RUNS; run++) {
    const topic = `stream:r${run}`;
    let position = await broker.history.position(topic);
    const since = position.offset;
    for (let i = 0; i < MISSED; i++) position = await broker.history.append(topic, 'msg', { seq: i, pad: 'x'.repeat(100) }, { maxMessages: 10_000 });
    opens.length = 0;
    replies.length = 0;
    reads = 0;
    const spec = { url: `ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0&tether=1`, topic, epoch: position.epoch, since, count: CLIENTS, missed: MISSED };
    const child = fork(new URL(import.meta.url), ['--child', JSON.stringify(spec)], { execPath: process.execPath, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const cpu0 = process.cpuUsage();
    const result = await new Promise<{ started: number; done: number[]; failed: string[] }>((resolve) => {
      child.on('message', (m: { type: string; started: number; done: number[]; failed: string[] }) => m.type === 'done' && resolve(m));
    });
    const cpu = process.cpuUsage(cpu0);
    await new Promise((r) => child.once('exit', r));
    const q = (v: number[]) => {
      const s = [...v].sort((a, b) => a - b);
      return [0.5, 0.9, 0.99, 1].map((f) => s[Math.min(s.length - 1, Math.floor(f * s.length))]).join(' / ');
    };
    const rel = (times: number[]) => times.map((t) => t - result.started);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `run ${run}: ${result.done.length}/${CLIENTS} replayed, the last after ${Math.max(...result.done)} ms (client-side p50/p90/p99/max ${q(result.done)} ms); ` +
        `${result.failed.length} handshakes failed${result.failed.length > 0 ? ` (${[...new Set(result.failed)].join(', ')})` : ''}; ` +
        `server opened them at ${q(rel(opens))} ms and replied at ${q(rel(replies))} ms; ` +
        `server CPU ${Math.round(cpuMs)} ms (${Math.round((cpuMs * 1000) / CLIENTS)} µs per rejoin); ${reads} history reads reached Redis; ` +
        `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    );
    await new Promise((r) => setTimeout(r, 500));
  }
  await server.close();
  await broker.close();
}
