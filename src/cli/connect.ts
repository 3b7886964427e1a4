/**
 * `tether connect <url>`: an interactive client for any Phoenix-protocol endpoint, and its scripted form
 * (`--join`, `--push`, `--exit-after`) whose exit code says what happened.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Socket } from '../client/socket.ts';
import type { Channel } from '../client/channel.ts';
import type { PushResult } from '../client/push.ts';
import type { TransportFactory } from '../client/transport.ts';
import { wsTransport } from '../client/transport-ws.ts';
import { createSerializer, Events, HEARTBEAT_TOPIC, type JsonObject, type Payload } from '../protocol/index.ts';
import { closeCodeMeaning } from '../protocol/close-codes.ts';
import { Output } from './ui/output.ts';
import { Terminal } from './ui/terminal.ts';
import { usageMessage } from './ui/usage.ts';

/** Exit codes of `tether connect` (documented in docs/cli.md). */
export const ExitCodes = {
  ok: 0,
  internal: 1,
  usage: 2,
  /** Never connected: refused upgrade (401/403), unreachable, or still connecting at --timeout. */
  connectFailed: 3,
  joinRefused: 4,
  /** A push was answered with a status other than ok. */
  replyError: 5,
  /** A join or push got no reply in time, or --exit-after was not reached within --timeout. */
  timeout: 6,
  /** The link or channel was lost with a push in flight, or the server closed the channel. */
  disconnected: 7,
} as const;
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** `join`, `reply` (every push answered), `message[:N]` (N server messages), `event:NAME[:N]` (N of that event). */
export type ExitAfter = { kind: 'join' } | { kind: 'reply' } | { kind: 'message'; count: number; event?: string };

export interface ConnectOptions {
  param: string[];
  token?: string;
  vsn: '1.0.0' | '2.0.0';
  join: string[];
  push: string[];
  exitAfter?: ExitAfter;
  timeout: number;
  /** How long a join or push waits for its reply (the socket's pushTimeoutMs). */
  replyTimeout: number;
  heartbeat: number;
  json: boolean;
  color: boolean;
  /** A PEM file of CA certificates to trust for wss:// (beside the system's). */
  ca?: string;
}

export interface ConnectIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where a usage error goes (default: output). */
  errors?: NodeJS.WritableStream;
}

/** A bad flag, URL or JSON argument (exit code 2). */
export class UsageError extends Error {}

/** `topic` or `topic {"json":"params"}`. */
export function parseJoin(spec: string): { topic: string; params: JsonObject } {
  const [topic, json] = splitFirst(spec.trim());
  if (!topic) throw new UsageError('a join needs a topic, e.g. room:lobby');
  return { topic, params: json ? parseObject(json, `params of ${topic}`) : {} };
}

/** `event` or `event {"json":"payload"}`. */
export function parsePush(spec: string): { event: string; payload: JsonObject } {
  const [event, json] = splitFirst(spec.trim());
  if (!event) throw new UsageError('a push needs an event, e.g. echo {"x":1}');
  return { event, payload: json ? parseObject(json, `payload of ${event}`) : {} };
}

export function parseExitAfter(value: string): ExitAfter {
  if (value === 'join' || value === 'reply') return { kind: value };
  const m = /^(?:message|event:([^:]+))(?::(\d+))?$/.exec(value);
  if (m) return { kind: 'message', count: m[2] ? Number(m[2]) : 1, ...(m[1] ? { event: m[1] } : {}) };
  throw new InvalidArgumentError('use join, reply, message[:N] or event:NAME[:N].');
}

function splitFirst(text: string): [string, string] {
  const space = text.search(/\s/);
  return space < 0 ? [text, ''] : [text.slice(0, space), text.slice(space + 1).trim()];
}

function parseObject(json: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${what} must be a JSON object`);
  return value as JsonObject;
}

/** `key=value` pairs (repeatable --param) to a params object. */
export function parseParams(pairs: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes key=value, got "${pair}"`);
    params[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return params;
}

/** Accepts ws(s):// or http(s)://, with or without the trailing /websocket. */
export function normalizeEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`"${raw}" is not a URL; expected e.g. ws://127.0.0.1:4000/socket`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UsageError(`unsupported scheme ${url.protocol} (use ws, wss, http or https)`);
  return url.toString().replace(/\/$/, '');
}

const HELP = `commands:
  /join TOPIC [JSON]       join a topic with params            /leave [TOPIC]   leave (default: current)
  /use TOPIC               make TOPIC the current topic         /ping            measure the round trip
  /push TOPIC EVENT [JSON] push to any joined topic             /stats           socket counters
  EVENT [JSON]             push to the current topic            /quit            disconnect and exit`;

/** One client session: the socket, its channels, and everything printed about them. */
class Session {
  readonly socket: Socket;
  readonly channels = new Map<string, Channel>();
  current: string | null = null;
  /** Server messages seen, by event name, and in total under "". */
  readonly seen = new Map<string, number>();
  firstFailure: ExitCode = ExitCodes.ok;
  /** Set once the session is ending: the losses our own disconnect causes are not news. */
  closing = false;
  /**
   * Whether a push that got no reply within its timeout is a failure (exit 6). Only `--exit-after reply` asks
   * for replies; elsewhere no reply is a legitimate answer (Phoenix's `{:noreply, socket}`), shown as such.
   */
  readonly noReplyIsFailure: boolean;
  onMessage: (() => void) | null = null;
  readonly #out: Output;
  readonly #pending = new Set<Promise<unknown>>();
  /** When the next reconnect attempt is due, while reconnecting. */
  #retryAt: number | null = null;

  constructor(endpoint: string, options: ConnectOptions, out: Output, ca: Buffer | undefined) {
    this.#out = out;
    this.noReplyIsFailure = options.exitAfter?.kind === 'reply';
    const decoder = createSerializer(options.vsn === '1.0.0' ? 1 : 2, 'client');
    this.socket = new Socket(endpoint, {
      params: parseParams(options.param),
      authToken: options.token,
      vsn: options.vsn,
      heartbeatIntervalMs: options.heartbeat,
      pushTimeoutMs: options.replyTimeout,
      transport: tap(wsTransport(ca === undefined ? {} : { ca: [...rootCertificates, ca.toString()] }), (data) => this.#incoming(decoder.decode(data))),
    });
    this.socket.on('state', (t) => {
      this.#retryAt = t.to === 'reconnecting' && t.detail.delayMs !== undefined ? t.at + t.detail.delayMs : null;
      if (!this.closing) out.emit({ type: 'state', state: t.to, reason: t.reason, detail: explainClose(t.detail.message, t.detail.code) });
    });
    // Refused joins and failed handshakes are already reported by the join and state lines.
    this.socket.on('error', (e) => QUIET_ERRORS.has(e.code) || out.emit({ type: 'error', code: e.code, message: e.message }));
  }

  /** Prints server pushes and broadcasts of every event, which the channel API only offers per event name. */
  #incoming(frame: ReturnType<ReturnType<typeof createSerializer>['decode']>): void {
    if (frame.event === Events.reply || frame.topic === HEARTBEAT_TOPIC) return;
    this.seen.set('', (this.seen.get('') ?? 0) + 1);
    this.seen.set(frame.event, (this.seen.get(frame.event) ?? 0) + 1);
    this.#out.emit({ type: 'message', topic: frame.topic, event: frame.event, payload: frame.payload as Payload });
    this.onMessage?.();
  }

  join(topic: string, params: JsonObject): PromiseLike<PushResult> {
    if (this.channels.has(topic)) throw new UsageError(`already joined ${topic}; /leave it first`);
    const channel = this.socket.channel(topic, params);
    this.channels.set(topic, channel);
    let lost = false;
    channel.onLifecycle('state', (s) => {
      if (this.closing) return;
      const rejoined = lost && s.to === 'joined';
      if (rejoined || s.reason === 'socket_lost' || s.reason === 'server_error' || s.reason === 'server_close') {
        const text = rejoined ? `${topic} rejoined` : `${topic} ${s.to} (${s.reason})`;
        this.#out.emit({ type: 'info', text, data: { topic, state: s.to, reason: s.reason } });
      }
      lost = s.to === 'errored' || (lost && s.to !== 'joined');
      if (s.to === 'closed') this.channels.delete(topic);
    });
    const started = performance.now();
    const previous = this.current;
    // Current at once: pushes typed before the reply wait in the channel's outbox until it is joined.
    this.current = topic;
    // Printed from the synchronous settle callback so lines keep the order frames arrived in.
    return this.#track(channel.join().onSettle((result) => {
      this.#out.emit({ type: 'join', topic, status: result.status, response: responseOf(result), ms: elapsed(result, started) });
      if (result.status !== 'ok') {
        this.channels.delete(topic);
        if (this.current === topic) this.current = previous;
      }
      this.#fail(exitCodeOf(result, ExitCodes.joinRefused));
    }));
  }

  /** Resolves once every join and push sent so far has settled. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  #track(work: PromiseLike<PushResult>): PromiseLike<PushResult> {
    const done = Promise.resolve(work).finally(() => this.#pending.delete(done));
    this.#pending.add(done);
    return work;
  }

  push(topic: string, event: string, payload: JsonObject): PromiseLike<PushResult> {
    const channel = this.channels.get(topic);
    if (!channel) throw new UsageError(`not joined to ${topic}; /join it first`);
    this.#out.emit({ type: 'sent', topic, event, payload });
    const started = performance.now();
    return this.#track(channel.push(event, payload).onSettle((result) => {
      if (this.closing) return;
      const noReply = result.status === 'timeout' ? { timeoutMs: this.socket.pushTimeoutMs, failure: this.noReplyIsFailure } : {};
      this.#out.emit({ type: 'reply', topic, event, status: result.status, response: responseOf(result), ms: elapsed(result, started), ...noReply });
      if (result.status !== 'timeout' || this.noReplyIsFailure) this.#fail(exitCodeOf(result, ExitCodes.replyError));
    }));
  }

  async leave(topic: string): Promise<void> {
    const channel = this.channels.get(topic);
    if (!channel) throw new UsageError(`not joined to ${topic}`);
    const result = await channel.leave();
    this.channels.delete(topic);
    if (this.current === topic) this.current = this.channels.keys().next().value ?? null;
    this.#out.emit({ type: 'leave', topic, status: result.status });
  }

  /** Runs one command line; returns false for /quit. Joins and pushes are sent, not awaited. */
  async command(line: string): Promise<boolean> {
    const text = line.trim();
    if (text === '') return true;
    if (!text.startsWith('/')) {
      if (!this.current) throw new UsageError('no current topic: /join one first');
      const { event, payload } = parsePush(text);
      void this.push(this.current, event, payload);
      return true;
    }
    const [name, rest] = splitFirst(text.slice(1));
    switch (name) {
      case 'join': {
        const { topic, params } = parseJoin(rest);
        void this.join(topic, params);
        return true;
      }
      case 'leave':
        await this.leave(rest || this.current || '');
        return true;
      case 'use':
        if (!this.channels.has(rest)) throw new UsageError(`not joined to ${rest}`);
        this.current = rest;
        return true;
      case 'push': {
        const [topic, spec] = splitFirst(rest);
        const { event, payload } = parsePush(spec);
        void this.push(topic, event, payload);
        return true;
      }
      case 'ping': {
        const ms = await this.socket.ping();
        this.#out.emit({ type: 'info', text: `pong in ${formatRtt(ms)}`, data: { rttMs: ms } });
        return true;
      }
      case 'stats': {
        const stats = this.socket.stats();
        this.#out.emit({ type: 'info', text: JSON.stringify(stats), data: { ...stats } });
        return true;
      }
      case 'help':
        this.#out.emit({ type: 'info', text: HELP });
        return true;
      case 'quit':
      case 'exit':
        return false;
      default:
        throw new UsageError(`unknown command /${name} (try /help)`);
    }
  }

  /** `open · 1.3 ms · room:lobby`, or `reconnecting in 2.1 s · room:lobby` */
  status(): string {
    const stats = this.socket.stats();
    let state: string = stats.state;
    if (stats.state === 'reconnecting' && this.#retryAt !== null) {
      state += ` in ${(Math.max(0, this.#retryAt - Date.now()) / 1000).toFixed(1)} s`;
    } else if (stats.state === 'open' && stats.smoothedRttMs !== null) {
      state += ` · ${formatRtt(stats.smoothedRttMs)}`;
    }
    return `${state} · ${this.current ?? 'no topic'}`;
  }

  #fail(code: ExitCode): void {
    if (this.firstFailure === ExitCodes.ok) this.firstFailure = code;
  }
}

/**
 * A state's detail with the close code in words: `closed with 4001 slow consumer: …` gains `(you read too
 * slowly: …)`, and a handshake that failed with `close 1006` says the connection dropped.
 */
export function explainClose(message: string, code: number | undefined): string {
  const closed = code ?? Number(/^close (\d{4})\b/.exec(message)?.[1] ?? NaN);
  if (Number.isNaN(closed)) return message;
  // The words go right after the close and its reason, before what happens next (`; next attempt in …`).
  const cut = message.indexOf('; ');
  return cut < 0 ? `${message} (${closeCodeMeaning(closed)})` : `${message.slice(0, cut)} (${closeCodeMeaning(closed)})${message.slice(cut)}`;
}

/** The client times round trips on the monotonic clock, to a fraction of a millisecond. */
function formatRtt(ms: number): string {
  return ms < 1 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`;
}

const QUIET_ERRORS = new Set<string>(['join_refused', 'handshake_failed']);

function elapsed(result: PushResult, started: number): number | null {
  // Microseconds are the most a timer on a shared event loop can claim; more digits are float noise.
  return result.status === 'ok' || result.status === 'error' ? Math.round((performance.now() - started) * 1000) / 1000 : null;
}

function responseOf(result: PushResult): Payload | null {
  return result.status === 'ok' || result.status === 'error' ? (result.response as Payload) : null;
}

function exitCodeOf(result: PushResult, onError: ExitCode): ExitCode {
  switch (result.status) {
    case 'ok':
      return ExitCodes.ok;
    case 'error':
      return onError;
    case 'timeout':
      return ExitCodes.timeout;
    default:
      return ExitCodes.disconnected;
  }
}

function tap(factory: TransportFactory, onIncoming: (data: string | Uint8Array) => void): TransportFactory {
  const tapped: TransportFactory = (url, protocols, handlers) =>
    factory(url, protocols, {
      open: handlers.open,
      close: handlers.close,
      message: (data, bytes) => {
        try {
          onIncoming(data);
        } finally {
          handlers.message(data, bytes);
        }
      },
    });
  // Keeps the tapped transport's name: the open line and /stats say `websocket`, not `custom`.
  return Object.assign(tapped, { transportName: factory.transportName });
}

/** Runs a session to its end and returns the exit code. */
export async function runConnect(url: string, options: ConnectOptions, io: ConnectIo): Promise<ExitCode> {
  let endpoint: string;
  let joins: ReturnType<typeof parseJoin>[];
  let pushes: ReturnType<typeof parsePush>[];
  let ca: Buffer | undefined;
  try {
    ca = options.ca === undefined ? undefined : readCa(options.ca);
    endpoint = normalizeEndpoint(url);
    joins = options.join.map(parseJoin);
    pushes = options.push.map(parsePush);
    parseParams(options.param);
    if (pushes.length > 0 && joins.length === 0) throw new UsageError('--push needs a --join (pushes go to the last joined topic)');
  } catch (err) {
    (io.errors ?? io.output).write(usageMessage('tether connect', (err as Error).message));
    return ExitCodes.usage;
  }
  const scripted = options.exitAfter !== undefined;
  const terminal = new Terminal({ input: io.input, output: io.output, readLines: !scripted });
  const out = new Output({ json: options.json, color: options.color && io.output.isTTY === true, write: (line) => terminal.print(line) });
  const session = new Session(endpoint, options, out, ca);
  const { socket } = session;

  let finish!: (code: ExitCode) => void;
  const finished = new Promise<ExitCode>((resolve) => (finish = resolve));
  const statusTimer = setInterval(() => terminal.setStatus(session.status()), 500);
  socket.on('state', (t) => {
    terminal.setStatus(session.status());
    if (t.to === 'failed') finish(t.reason === 'auth' || !socket.stats().connectedSince ? ExitCodes.connectFailed : ExitCodes.disconnected);
  });
  let everOpened = false;
  const opened = new Promise<void>((resolve) => socket.on('state', (t) => t.to === 'open' && ((everOpened = true), resolve())));

  const deadline = scripted
    ? setTimeout(() => {
        out.emit({ type: 'error', code: 'timeout', message: `--exit-after ${describeExitAfter(options.exitAfter!)} not reached within ${options.timeout} ms` });
        finish(everOpened ? ExitCodes.timeout : ExitCodes.connectFailed);
      }, options.timeout)
    : null;

  const script = async () => {
    await opened;
    for (const { topic, params } of joins) {
      const result = await session.join(topic, params);
      if (result.status !== 'ok') return finish(session.firstFailure);
    }
    const exitAfter = options.exitAfter;
    if (exitAfter?.kind === 'join') return finish(ExitCodes.ok);
    if (exitAfter?.kind === 'message') {
      session.onMessage = () => (session.seen.get(exitAfter.event ?? '') ?? 0) >= exitAfter.count && finish(ExitCodes.ok);
      session.onMessage();
    }
    const topic = joins.length > 0 ? joins[joins.length - 1].topic : null;
    if (topic) await Promise.all(pushes.map(({ event, payload }) => session.push(topic, event, payload)));
    if (session.firstFailure !== ExitCodes.ok && scripted) return finish(session.firstFailure);
    if (exitAfter?.kind === 'reply') return finish(ExitCodes.ok);
  };

  // Lines run one after another (a /ping or /leave holds the next line until it is answered).
  let queue: Promise<unknown> = opened;
  terminal.onLine((line) => {
    queue = queue.then(() => session.command(line)).then(
      (more) => more || finish(session.firstFailure),
      (err: Error) => out.emit({ type: 'error', code: err instanceof UsageError ? 'usage' : 'failed', message: err.message }),
    );
  });
  // End of input (Ctrl-D, end of a pipe): let what was sent settle, then exit with the first failure.
  terminal.onEnd(() => {
    void queue.then(() => session.settled()).then(() => finish(session.firstFailure));
  });
  if (!scripted && terminal.live) out.emit({ type: 'info', text: 'type /help for commands' });

  socket.connect();
  script().catch((err: Error) => {
    out.emit({ type: 'error', code: 'failed', message: err.message });
    finish(ExitCodes.internal);
  });

  const code = await finished;
  session.closing = true;
  clearInterval(statusTimer);
  if (deadline) clearTimeout(deadline);
  await socket.disconnect();
  terminal.close();
  return code;
}

function describeExitAfter(exitAfter: ExitAfter): string {
  if (exitAfter.kind !== 'message') return exitAfter.kind;
  return `${exitAfter.event ? `event:${exitAfter.event}` : 'message'}:${exitAfter.count}`;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

function readCa(path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new UsageError(`--ca: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca: ${path} holds no PEM certificate`);
  return pem;
}

/** Commander's accumulator for a repeatable option. */
export const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('connect')
    .description('an interactive client for any Phoenix-protocol endpoint (ours or a real Phoenix app)')
    .argument('<url>', 'endpoint, e.g. ws://127.0.0.1:4000/socket (http(s) and a trailing /websocket are accepted)')
    .option('--param <key=value>', 'connect param, repeatable (e.g. --param token=s3cret --param user=ada)', collect, [])
    .option('--token <token>', "send Phoenix's authToken (subprotocol) with the upgrade")
    .addOption(new Option('--vsn <vsn>', 'protocol version').choices(['2.0.0', '1.0.0']).default('2.0.0'))
    .option('--join <topic [json]>', 'join a topic (with JSON params), repeatable, in order', collect, [])
    .option('--push <event [json]>', 'push to the last joined topic after the joins, repeatable', collect, [])
    .option('--exit-after <what>', 'exit when reached: join, reply (every push answered), message[:N], event:NAME[:N]', parseExitAfter)
    .option('--timeout <ms>', 'with --exit-after: give up after this long (exit 6, or 3 if never connected)', positiveInt, 10_000)
    .option('--reply-timeout <ms>', 'how long a join or push waits for its reply', positiveInt, 10_000)
    .option('--heartbeat <ms>', 'heartbeat interval; also how often the round-trip time refreshes', positiveInt, 5_000)
    .option('--ca <file>', 'trust the CA certificates in this PEM file for wss:// (beside the system ones)')
    .option('--json', 'print one JSON object per line', false)
    .option('--no-color', 'no colours even on a terminal')
    .addHelpText('after', `\nexit codes: 0 ok, 2 usage, 3 could not connect, 4 join refused, 5 error reply, 6 timeout, 7 disconnected\n\n${HELP}`)
    .action(async (url: string, options: ConnectOptions) => {
      process.exitCode = await runConnect(url, options, { input: process.stdin, output: process.stdout, errors: process.stderr });
    });
}
