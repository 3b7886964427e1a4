/**
 * What users would pick instead: Socket.IO 4.8 with rooms, websocket transport only (no polling) and
 * permessage-deflate off. Events `join`/`leave`/`ping`/`publish`, each acknowledged.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { announceReady } from './lifecycle.ts';

const http = createServer();
// `npm run bench -- --compression`: Socket.IO's perMessageDeflate on (ws's defaults, threshold 1024).
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: process.env.BENCH_COMPRESSION === '1', httpCompression: false, serveClient: false });

io.on('connection', (socket) => {
  socket.on('join', async (topic: string, ack: () => void) => {
    await socket.join(topic);
    ack();
  });
  socket.on('leave', async (topic: string, ack: () => void) => {
    await socket.leave(topic);
    ack();
  });
  socket.on('ping', (_data: unknown, ack: () => void) => ack());
  socket.on('publish', (msg: { topic: string; data: unknown }, ack: () => void) => {
    io.to(msg.topic).emit('msg', msg.data);
    ack();
  });
});

http.listen(0, '127.0.0.1', () => announceReady(
    (http.address() as AddressInfo).port,
    () => io.close(),
    // Every socket also sits in a room named by its own id, as Socket.IO does by default.
    () => ({ connections: io.of('/').sockets.size, topics: io.of('/').adapter.rooms.size - io.of('/').sockets.size }),
  ));
