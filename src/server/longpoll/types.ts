/**
 * The seam between the long-poll HTTP endpoint (one node) and the relay that carries a request to the node that
 * owns its session (several nodes without sticky sessions). Plain data only: a request crosses nodes through the
 * broker's per-node inbox.
 */

/** One long-poll request, reduced to what a session needs to answer it. */
export interface LongPollRequest {
  method: 'GET' | 'POST';
  /** The session token the client sent (`X-Phoenix-Longpoll-Token` header or `token` query parameter). */
  sessionToken: string;
  /** A POST's body: `application/x-ndjson`, one frame per line (binary frames as base64). */
  body?: string;
}

/** What the session answered: the JSON body Phoenix sends (the HTTP status is 200; the real status is inside). */
export interface LongPollResponse {
  body: string;
}

/** Answers a request for a session this node owns. */
export type LongPollHandler = (request: LongPollRequest) => Promise<LongPollResponse>;

/** Carries requests between nodes. One per server; the memory broker's relay has no other node to reach. */
export interface LongPollRelay {
  /** Serves the requests other nodes forward to this node. Called once, when the server starts. */
  serve(handler: LongPollHandler): void;
  /**
   * Forwards a request to the node that owns its session and waits up to `timeoutMs` for the answer; null when
   * that node does not answer in time (gone, or unreachable), which the endpoint turns into `{"status":410}`.
   */
  forward(node: string, request: LongPollRequest, timeoutMs: number): Promise<LongPollResponse | null>;
  /** Stops serving; pending forwards resolve null. */
  close(): void;
}
