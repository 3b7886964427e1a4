/** What an open connection keeps alive: not its upgrade request, not a failed handshake's connection slot. */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { connect as netConnect } from 'node:net';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { createServer } from '../../src/server/index.ts';
import { join, RawClient, startServer, upgradeStatus } from '../helpers/server-fixtures.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const room: ChannelDefinition = { join: () => ok() };

async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

test('an open, joined connection does not keep its upgrade request (headers, head buffer) alive', async (t) => {
  const http = createHttpServer();
  const requests: WeakRef<IncomingMessage>[] = [];
  http.on('upgrade', (req: IncomingMessage) => requests.push(new WeakRef(req)));
  const server = createServer({ httpServer: http, channels: { 'room:*': room }, port: 0 });
  const { url } = await server.listen();
  t.after(async () => {
    await server.close();
    await new Promise((r) => http.close(r));
  });
  const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(`${url}/websocket?vsn=2.0.0`)));
  for (const c of clients) assert.deepEqual(await join(c, 'room:m', '1'), ['1', '1', 'room:m', 'phx_reply', { response: {}, status: 'ok' }]);
  await collect();
  assert.equal(requests.length, 3);
  assert.equal(requests.filter((r) => r.deref() !== undefined).length, 0, 'upgrade requests still reachable from open connections');
  for (const c of clients) c.close();
});

test('a handshake ws refuses after admission gives its connection slot back', async () => {
  const s = await startServer({ channels: { 'room:*': room }, maxConnections: 1 });
  // Admitted by the core (vsn, origin, hook all fine), then refused by ws: no Sec-WebSocket-Key.
  const raw = netConnect(s.port, '127.0.0.1');
  raw.write(`GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const answer = await new Promise<string>((resolve) => raw.once('data', (d) => resolve(d.toString())));
  raw.destroy();
  assert.match(answer, /^HTTP\/1\.1 400/);
  assert.equal(await upgradeStatus(s.endpoint()), 101, 'the refused handshake still holds the only slot');
  await s.server.close();
});
