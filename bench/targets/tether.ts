/**
 * Tether with one bench channel: any `bench:*` topic may be joined; `publish` `{topic, data}` broadcasts `data`
 * as event `msg` on `topic`; `ping` replies ok. Limits are raised so the bench, not a default, is what ends.
 * With BENCH_TASKS=on|off (the tasks workload) it also runs a TaskHub, coalescing progress at its default
 * 10 per task per second (on) or not at all (off), with its topics and POST /api/publish (token `bench`).
 */
import { createServer, ok, type ChannelDefinition } from '../../src/server/index.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';
import { prependRequestHandler } from '../../src/ops/operations.ts';
import { TaskHub, createPublishRoute } from '../../src/tasks/server/index.ts';
import { announceReady } from './lifecycle.ts';

const bench: ChannelDefinition = {
  join: () => ok(),
  handleIn(event, payload) {
    if (event === 'publish') {
      const { topic, data } = payload as { topic: string; data: JsonObject };
      server.broadcast(topic, 'msg', data);
    }
    return ok();
  },
};

const tasks = process.env.BENCH_TASKS;
const hub = tasks === undefined ? null : new TaskHub(tasks === 'off' ? { progressPerSecond: false } : {});

const server = createServer({
  port: 0,
  host: '127.0.0.1',
  channels: { 'bench:*': bench, ...hub?.channels },
  maxConnections: 1_000_000,
  compression: process.env.BENCH_COMPRESSION === '1',
});

if (hub) {
  hub.attach(server);
  prependRequestHandler(server.httpServer, createPublishRoute({ hub, token: 'bench' }));
}

const { port } = await server.listen();
announceReady(
  port,
  () => server.close(),
  () => ({ connections: server.connectionCount, topics: server.topics().size }),
);
