/**
 * The long-poll sessions this node owns, and the one handler that answers their requests: the local endpoint
 * calls it, and so does the relay for requests other nodes forward. Also the sweep that ends idle sessions.
 */
import { CloseCodes } from '../../protocol/close-codes.ts';
import type { Admission, ServerCore } from '../core.ts';
import { GONE, OK, pollBody, statusBody } from './answers.ts';
import { splitPost } from './frames.ts';
import { LongPollSession } from './session.ts';
import { SessionTokens, type SessionRef } from './token.ts';
import type { LongPollRequest, LongPollResponse } from './types.ts';

export interface LongPollLimits {
  windowMs: number;
  idleMs: number;
  maxFramesPerPost: number;
  maxQueuedMessages: number;
  maxFrameBytes: number;
  sweepIntervalMs: number;
}

export class LongPollSessions {
  readonly tokens: SessionTokens;
  readonly #core: ServerCore;
  readonly #limits: LongPollLimits;
  readonly #sessions = new Map<string, LongPollSession>();
  #sweepTimer: unknown = null;

  constructor(core: ServerCore, tokens: SessionTokens, limits: LongPollLimits) {
    this.#core = core;
    this.tokens = tokens;
    this.#limits = limits;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get nodeId(): string {
    return this.#core.broker.nodeId;
  }

  /** The first GET of a client that passed admission: a session and its `{"status":410, token}` answer. */
  open(admission: Extract<Admission, { ok: true }>): string {
    const id = SessionTokens.newSessionId();
    const token = this.tokens.sign({ session: id, node: this.nodeId });
    const session = new LongPollSession(id, token, this.#core.clock, this.#limits, this.#forget);
    this.#sessions.set(id, session);
    // The sweep runs only while there are sessions: a server no long-poll client uses pays no timer.
    this.#sweepTimer ??= this.#core.clock.setInterval(this.#sweep, this.#limits.sweepIntervalMs);
    session.connection = this.#core.open(session, admission);
    return pollBody(410, token, []);
  }

  /** Answers a poll or a POST another node relayed: its token crossed the network, so it is verified here. */
  readonly handle = (request: LongPollRequest): Promise<LongPollResponse> => {
    const ref = this.tokens.verify(request.sessionToken);
    return ref === null ? Promise.resolve({ body: GONE }) : this.answer(ref, request);
  };

  /**
   * Answers a poll or a POST whose token the caller verified (the endpoint, which read `ref` from it), for a
   * session of this node (`{"status":410}` for any other).
   */
  async answer(ref: SessionRef, request: LongPollRequest, signal?: AbortSignal): Promise<LongPollResponse> {
    const session = ref.node !== this.nodeId ? undefined : this.#sessions.get(ref.session);
    if (session === undefined) return { body: GONE };
    if (request.method === 'GET') return { body: await session.poll(signal) };
    return { body: this.#publish(session, request.body ?? '') };
  }

  /** Ends a session of this node the endpoint refused a request for (a body too large to read). */
  end(ref: SessionRef, code: number, reason: string): void {
    if (ref.node !== this.nodeId) return;
    this.#sessions.get(ref.session)?.connection.close(code, reason);
  }

  #publish(session: LongPollSession, body: string): string {
    if (session.closed) return GONE;
    const split = splitPost(body, { maxFrames: this.#limits.maxFramesPerPost, maxFrameBytes: this.#limits.maxFrameBytes });
    if (!split.ok) {
      if (split.reason === 'bad_base64') {
        session.connection.close(CloseCodes.invalidFrame, `Invalid frame: ${split.detail}`);
        return statusBody(400);
      }
      session.connection.close(CloseCodes.messageTooBig, split.detail);
      return statusBody(413);
    }
    session.receive(split.frames);
    return session.closed ? GONE : OK;
  }

  /** Cuts every session (the server is stopping); waiting polls get 410. */
  close(): void {
    this.#stopSweep();
    for (const session of [...this.#sessions.values()]) session.terminate();
  }

  readonly #forget = (session: LongPollSession): void => {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    if (this.#sessions.size === 0) this.#stopSweep();
  };

  #stopSweep(): void {
    if (this.#sweepTimer !== null) this.#core.clock.clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
  }

  readonly #sweep = (): void => {
    const now = this.#core.clock.now();
    const idleMs = this.#limits.idleMs;
    for (const session of [...this.#sessions.values()]) {
      if (session.idleSince(now, idleMs)) session.expire(idleMs);
    }
  };
}
