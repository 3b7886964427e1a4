/**
 * The client side of an app's tests: a real Tether Socket whose transport reports every open, frame and close
 * to `waitFor`, with the state history a UI test asserts on.
 */
import type { Channel, DefaultEvents, JoinParams } from '../client/channel.ts';
import { Socket } from '../client/socket.ts';
import type { SocketOptions } from '../client/socket-options.ts';
import type { SocketState, StateTransition } from '../client/states.ts';
import { selectTransports } from '../client/transport-select.ts';
import type { TransportFactory, TransportHandlers } from '../client/transport.ts';
import { pushBounded } from './bounded-list.ts';
import type { FaultyLink } from './faulty-link.ts';
import type { TestCleanup, TestServer } from './test-server.ts';
import { notifyChange, waitFor, type WaitOptions } from './wait.ts';

export interface TestClientOptions extends SocketOptions {
  /** Resolve only once the socket is open. Default true (false to connect through a link that is down). */
  awaitOpen?: boolean;
  /** Real ms `awaitOpen` waits. Default 5000. */
  timeoutMs?: number;
}

/** State transitions kept in `TestClient.transitions`; the oldest are dropped beyond. */
export const MAX_RECORDED_TRANSITIONS = 1000;

export class TestClient {
  readonly socket: Socket;
  /** Every state transition since the client was created, oldest first (at most 1000). */
  readonly transitions: StateTransition[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('state', (t) => {
      pushBounded(this.transitions, t, MAX_RECORDED_TRANSITIONS);
      notifyChange(`client ${t.from} -> ${t.to} (${t.reason})`);
    });
  }

  get state(): SocketState {
    return this.socket.state;
  }

  /** The states the socket went through, in order: `['connecting', 'open', 'reconnecting', ...]`. */
  get states(): SocketState[] {
    return this.transitions.map((t) => t.to);
  }

  /** Joins and resolves once joined; rejects with the server's reason when refused. */
  async join<E extends object = DefaultEvents, R extends object = DefaultEvents>(topic: string, params?: JoinParams): Promise<Channel<E, R>> {
    const channel = this.socket.channel<E, R>(topic, params);
    const result = await channel.join();
    if (result.status !== 'ok') throw new Error(`join ${topic} was not ok: ${JSON.stringify(result)}`);
    return channel;
  }

  /** Resolves when the socket is in `state` (now or later). */
  waitForState(state: SocketState, options: WaitOptions = {}): Promise<true> {
    return waitFor(() => this.socket.state === state, { what: `the client to be ${state} (it is ${this.socket.state})`, ...options });
  }

  /**
   * Disconnects; resolves when closed, or after 2 s of real time when the server cannot answer (a link that is
   * down, or a virtual clock that nobody advances past the socket's own closing timeout).
   */
  async disconnect(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.socket.disconnect(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
  }
}

/** Wraps a transport factory so every open, message and close tells waiting conditions to look again. */
export function observedTransport(inner: TransportFactory): TransportFactory {
  const observed = (url: string, protocols: string[], handlers: TransportHandlers) =>
    inner(url, protocols, {
      open: () => {
        handlers.open();
        notifyChange('client transport open');
      },
      message: (data, bytes) => {
        handlers.message(data, bytes);
        notifyChange();
      },
      close: (info) => {
        handlers.close(info);
        notifyChange(`client transport closed (${info.code}${info.status ? `, HTTP ${info.status}` : ''})`);
      },
    });
  return inner.transportName === undefined ? observed : Object.assign(observed, { transportName: inner.transportName });
}

/**
 * A Tether client connected to a test server, a faulty link, or any URL; disconnected when the test ends
 * (with `t`). Socket options pass through (give `clock` to run its heartbeat and backoff in virtual time).
 */
export async function connectTestClient(target: TestServer | FaultyLink | string, options: TestClientOptions = {}, t?: TestCleanup): Promise<TestClient> {
  const { awaitOpen = true, timeoutMs, ...socketOptions } = options;
  const url = typeof target === 'string' ? target : typeof target.url === 'string' ? target.url : target.url();
  const transport = observedTransport(selectTransports(socketOptions).primary);
  const client = new TestClient(new Socket(url, { ...socketOptions, transport }));
  t?.after(() => client.disconnect());
  client.socket.connect();
  if (awaitOpen) await client.waitForState('open', { timeoutMs, what: `the client to open ${url}` });
  return client;
}
