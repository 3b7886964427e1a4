/**
 * Tether with one bench channel: any `bench:*` topic may be joined; `publish` `{topic, data}` broadcasts `data`
 * as event `msg` on `topic`; `ping` replies ok. Limits are raised so the bench, not a default, is what ends.
 * With BENCH_TASKS=on|off (the tasks workload) it also runs a TaskHub, coalescing progress at its default
 * 10 per task per second (on) or not at all (off), with its topics and POST /api/publish (token `bench`).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createServer, ok, type ChannelDefinition } from '../../src/server/index.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';
import { prependRequestHandler } from '../../src/ops/operations.ts';
import { LatencyHistogram } from '../../src/ops/latency-histogram.ts';
import { TaskHub, createPublishRoute } from '../../src/tasks/server/index.ts';
import { nowMicros } from '../lib/clock.ts';
import type { TaskProbe } from '../lib/messages.ts';
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

// The server side of the latency (tasks workload): a report's `timestamp` (the producer's ms on the shared clock)
// to the moment the hub hands it to the fan-out of the watched topic, and the event loop's delay meanwhile.
const toBroadcast = new LatencyHistogram();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
if (hub) {
  loopDelay.enable();
  hub.attach({
    observe: (observer) => server.observe(observer),
    broadcast(topic, event, payload) {
      const at = (payload as { timestamp?: unknown }).timestamp;
      if (topic.startsWith('tasks:') && typeof at === 'number') toBroadcast.record(nowMicros() / 1000 - at);
      return server.broadcast(topic, event, payload);
    },
  });
  prependRequestHandler(server.httpServer, createPublishRoute({ hub, token: 'bench' }));
}

const probe = (reset: boolean): TaskProbe => {
  const figures = { toBroadcast: toBroadcast.toJSON(), loopDelayP99Ms: loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0 };
  if (reset) {
    toBroadcast.reset();
    loopDelay.reset();
  }
  return figures;
};

const { port } = await server.listen();
announceReady(
  port,
  () => server.close(),
  () => ({ connections: server.connectionCount, topics: server.topics().size }),
  probe,
);
