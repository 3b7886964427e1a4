/**
 * Tether with one bench channel: any `bench:*` topic may be joined; `publish` `{topic, data}` broadcasts `data`
 * as event `msg` on `topic`; `ping` replies ok. Limits are raised so the bench, not a default, is what ends.
 */
import { createServer, ok, type ChannelDefinition } from '../../src/server/index.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';
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

const server = createServer({
  port: 0,
  host: '127.0.0.1',
  channels: { 'bench:*': bench },
  maxConnections: 1_000_000,
  compression: process.env.BENCH_COMPRESSION === '1',
});

const { port } = await server.listen();
announceReady(
  port,
  () => server.close(),
  () => ({ connections: server.connectionCount, topics: server.topics().size }),
);
