/** A Socket on a fake network and a virtual clock, for the client's unit tests. */
import { Socket, type SocketOptions } from '../../src/client/socket.ts';
import type { StateTransition } from '../../src/client/states.ts';
import type { TetherClientError } from '../../src/client/errors.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { FakeNetwork } from './fake-transport.ts';

export function fakeSocket(options: SocketOptions = {}) {
  const clock = new VirtualClock();
  const net = new FakeNetwork();
  const socket = new Socket('ws://example.test/socket', { clock, transport: net.factory, page: false, reconnect: () => 100, heartbeatIntervalMs: 3_600_000, ...options });
  const transitions: StateTransition[] = [];
  const errors: TetherClientError[] = [];
  socket.on('state', (t) => transitions.push(t));
  socket.on('error', (e) => errors.push(e));
  const path = () => transitions.map((t) => `${t.to}:${t.reason}`);
  return { clock, net, socket, transitions, errors, path };
}

/** Connects and opens the first fake connection. */
export async function openSocket(options: SocketOptions = {}) {
  const s = fakeSocket(options);
  s.socket.connect();
  await s.clock.advanceAsync(0);
  s.net.current.open();
  return s;
}
