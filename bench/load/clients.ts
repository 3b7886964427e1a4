/**
 * Thin bench clients, one per target protocol, over the same `ws` socket so the load generator costs the same
 * for every target. They only do what the workloads need: open, join, leave, request, publish, and hand each
 * received broadcast's send timestamp to `onBroadcast` without a full JSON parse.
 */
import WebSocket from 'ws';
import type { Endpoint, TargetKind } from '../lib/messages.ts';

const TS_KEY = '"ts":';
/** `npm run bench -- --compression`: every client offers permessage-deflate (ws's defaults). */
const COMPRESSION = process.env.BENCH_COMPRESSION === '1';
const REPLY_TIMEOUT_MS = 30_000;

export type BroadcastListener = (sentAtMicros: number) => void;

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A task update's integer `timestamp`: the tasks workload stamps it with this clock in milliseconds. */
const TIMESTAMP_KEY = '"timestamp":';

/** Reads the `ts` field of a broadcast payload (or a task update's `timestamp`, in ms); NaN when absent. */
function sentAt(text: string): number {
  const at = text.indexOf(TS_KEY);
  if (at >= 0) return Number.parseFloat(text.slice(at + TS_KEY.length, at + TS_KEY.length + 24));
  const ms = text.indexOf(TIMESTAMP_KEY);
  return ms < 0 ? Number.NaN : Number.parseFloat(text.slice(ms + TIMESTAMP_KEY.length, ms + TIMESTAMP_KEY.length + 24)) * 1000;
}

export abstract class BenchClient {
  onBroadcast: BroadcastListener | null = null;
  protected socket: WebSocket | null = null;
  protected nextRef = 1;
  readonly #pending = new Map<number, Pending>();
  #closed: Promise<void> | null = null;

  protected abstract url(port: number): string;
  /** Routes one inbound text frame. */
  protected abstract receive(text: string): void;
  /** Resolves when the protocol-level handshake (if any) is done. */
  protected handshake(): Promise<void> {
    return Promise.resolve();
  }
  abstract join(topic: string): Promise<void>;
  abstract leave(topic: string): Promise<void>;
  abstract request(): Promise<void>;
  abstract publish(topic: string, payloadJson: string): Promise<void>;

  /** Connects from source address number `index` (round-robin) of the endpoint's addresses. */
  async open(endpoint: Endpoint, index: number): Promise<void> {
    const localAddress = endpoint.sourceAddresses[index % endpoint.sourceAddresses.length];
    const socket = new WebSocket(this.url(endpoint.port), { perMessageDeflate: COMPRESSION, localAddress });
    this.socket = socket;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('message', (data: Buffer) => this.receive(data.toString()));
    socket.on('close', () => this.#failAll(new Error('connection closed')));
    const handshake = this.handshake();
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await handshake;
  }

  /** Closes the socket and resolves once the close handshake is over. */
  close(): Promise<void> {
    this.socket?.close();
    return this.#closed ?? Promise.resolve();
  }

  /** Ends the socket at once (no close handshake), for tearing down thousands quickly. */
  terminate(): void {
    this.socket?.terminate();
  }

  protected send(text: string): void {
    this.socket!.send(text);
  }

  /** Sends a frame carrying a fresh ref and resolves when the reply with that ref comes back. */
  protected call(frame: (ref: number) => string): Promise<void> {
    const ref = this.nextRef++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(ref, new Error(`no reply within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
      this.#pending.set(ref, {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      this.send(frame(ref));
    });
  }

  protected settle(ref: number, error?: Error): void {
    const pending = this.#pending.get(ref);
    if (!pending) return;
    this.#pending.delete(ref);
    if (error) pending.reject(error);
    else pending.resolve();
  }

  protected broadcast(text: string): void {
    this.onBroadcast?.(sentAt(text));
  }

  #failAll(err: Error): void {
    for (const ref of [...this.#pending.keys()]) this.settle(ref, err);
  }
}

/** The raw `ws` baseline's own tiny protocol: `{op,id,...}` in, `{"id":n}` replies, `{topic,data}` broadcasts. */
class RawWsClient extends BenchClient {
  protected url(port: number): string {
    return `ws://127.0.0.1:${port}/`;
  }
  protected receive(text: string): void {
    if (text.startsWith('{"id":')) this.settle(Number.parseInt(text.slice(6), 10));
    else this.broadcast(text);
  }
  join(topic: string): Promise<void> {
    return this.call((id) => `{"op":"join","id":${id},"topic":${JSON.stringify(topic)}}`);
  }
  leave(topic: string): Promise<void> {
    return this.call((id) => `{"op":"leave","id":${id},"topic":${JSON.stringify(topic)}}`);
  }
  request(): Promise<void> {
    return this.call((id) => `{"op":"ping","id":${id}}`);
  }
  publish(topic: string, payloadJson: string): Promise<void> {
    return this.call((id) => `{"op":"publish","id":${id},"topic":${JSON.stringify(topic)},"data":${payloadJson}}`);
  }
}

/** Socket.IO 4 spoken directly (Engine.IO v4 packets over the websocket transport). */
class SocketIoClient extends BenchClient {
  #connected: (() => void) | null = null;

  protected url(port: number): string {
    return `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
  }
  protected override handshake(): Promise<void> {
    return new Promise((resolve) => (this.#connected = resolve));
  }
  protected receive(text: string): void {
    const type = text.charCodeAt(0);
    if (type === 0x32 /* 2 ping */) return this.send('3');
    if (type === 0x30 /* 0 open */) return this.send('40');
    if (type !== 0x34 /* 4 message */) return;
    const packet = text.charCodeAt(1);
    if (packet === 0x32 /* 2 event */) this.broadcast(text);
    else if (packet === 0x33 /* 3 ack */) this.settle(Number.parseInt(text.slice(2), 10));
    else if (packet === 0x30 /* 0 connect */) this.#connected?.();
  }
  join(topic: string): Promise<void> {
    return this.call((id) => `42${id}["join",${JSON.stringify(topic)}]`);
  }
  leave(topic: string): Promise<void> {
    return this.call((id) => `42${id}["leave",${JSON.stringify(topic)}]`);
  }
  request(): Promise<void> {
    return this.call((id) => `42${id}["ping",{}]`);
  }
  publish(topic: string, payloadJson: string): Promise<void> {
    return this.call((id) => `42${id}["publish",{"topic":${JSON.stringify(topic)},"data":${payloadJson}}]`);
  }
}

/** Phoenix Channels V2 JSON, as any stock client would speak it to Tether. */
const CONTROL_TOPIC = 'bench:control';

class TetherClient extends BenchClient {
  readonly #joinRefs = new Map<string, string>();

  protected url(port: number): string {
    return `ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0`;
  }
  protected receive(text: string): void {
    if (text.startsWith('[null,null,')) return this.broadcast(text);
    const frame = JSON.parse(text) as [string | null, string | null, string, string, unknown];
    if (frame[3] === 'phx_reply' && frame[1] !== null) {
      const status = (frame[4] as { status?: string }).status;
      this.settle(Number(frame[1]), status === 'ok' ? undefined : new Error(`reply ${status}: ${JSON.stringify(frame[4])}`));
    }
  }
  heartbeat(): void {
    this.send('[null,"0","phoenix","heartbeat",{}]');
  }
  async join(topic: string): Promise<void> {
    const joinRef = String(this.nextRef);
    this.#joinRefs.set(topic, joinRef);
    await this.call((ref) => `["${ref}","${ref}",${JSON.stringify(topic)},"phx_join",{}]`);
  }
  async leave(topic: string): Promise<void> {
    const joinRef = this.#joinRefs.get(topic);
    this.#joinRefs.delete(topic);
    await this.call((ref) => `["${joinRef}","${ref}",${JSON.stringify(topic)},"phx_leave",{}]`);
  }
  request(): Promise<void> {
    return this.#onControl((jr, ref) => `["${jr}","${ref}","${CONTROL_TOPIC}","ping",{}]`);
  }
  publish(topic: string, payloadJson: string): Promise<void> {
    return this.#onControl(
      (jr, ref) => `["${jr}","${ref}","${CONTROL_TOPIC}","publish",{"topic":${JSON.stringify(topic)},"data":${payloadJson}}]`,
    );
  }
  /** Pushes on the control channel, joining it first if needed (later pushes may follow the join unanswered). */
  #onControl(frame: (joinRef: string, ref: number) => string): Promise<void> {
    const joinRef = this.#joinRefs.get(CONTROL_TOPIC);
    if (joinRef !== undefined) return this.call((ref) => frame(joinRef, ref));
    return this.join(CONTROL_TOPIC).then(() => this.#onControl(frame));
  }
}

const CLIENTS: Record<TargetKind, new () => BenchClient> = {
  ws: RawWsClient,
  socketio: SocketIoClient,
  tether: TetherClient,
};

export function createClient(endpoint: Endpoint): BenchClient {
  return new CLIENTS[endpoint.kind]();
}

export function isTetherClient(client: BenchClient): client is TetherClient {
  return client instanceof TetherClient;
}
