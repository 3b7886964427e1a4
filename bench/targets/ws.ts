/**
 * The floor for Node: a raw `ws` server with topics as a Map of Sets and one pre-serialised string per
 * broadcast. Protocol: `{op:"join"|"leave"|"ping"|"publish", id, topic?, data?}` in, `{"id":n}` replies,
 * `{"topic":t,"data":d}` broadcasts.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { announceReady } from './lifecycle.ts';

interface Command {
  op: string;
  id: number;
  topic?: string;
  data?: unknown;
}

const topics = new Map<string, Set<WebSocket>>();
let connections = 0;
const joined = new WeakMap<WebSocket, Set<string>>();

function join(socket: WebSocket, topic: string): void {
  let members = topics.get(topic);
  if (!members) topics.set(topic, (members = new Set()));
  members.add(socket);
  let mine = joined.get(socket);
  if (!mine) joined.set(socket, (mine = new Set()));
  mine.add(topic);
}

function leave(socket: WebSocket, topic: string): void {
  const members = topics.get(topic);
  if (members?.delete(socket) && members.size === 0) topics.delete(topic);
  joined.get(socket)?.delete(topic);
}

function broadcast(topic: string, data: unknown): void {
  const members = topics.get(topic);
  if (!members) return;
  const text = `{"topic":${JSON.stringify(topic)},"data":${JSON.stringify(data)}}`;
  for (const member of members) member.send(text);
}

// `npm run bench -- --compression`: ws's own permessage-deflate defaults (context takeover, threshold 1024, level 6).
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: process.env.BENCH_COMPRESSION === '1', clientTracking: false });
server.on('connection', (socket) => {
  connections++;
  socket.on('message', (raw) => {
    const cmd = JSON.parse(raw.toString()) as Command;
    if (cmd.op === 'join') join(socket, cmd.topic!);
    else if (cmd.op === 'leave') leave(socket, cmd.topic!);
    else if (cmd.op === 'publish') broadcast(cmd.topic!, cmd.data);
    socket.send(`{"id":${cmd.id}}`);
  });
  socket.on('close', () => {
    connections--;
    for (const topic of joined.get(socket) ?? []) leave(socket, topic);
    joined.delete(socket);
  });
});
server.on('listening', () => announceReady(
    (server.address() as AddressInfo).port,
    () => server.close(),
    () => ({ connections, topics: topics.size }),
  ));
