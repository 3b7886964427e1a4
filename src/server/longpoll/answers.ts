/**
 * The JSON bodies of the long-poll wire, exactly as Phoenix writes them (keys in Phoenix's order, the real status
 * inside; the HTTP status is 200). ../shared/phoenix-longpoll-transcript.json is a recorded session.
 */

/** `{"status":N}`: a POST's answer, a refused connect (403) or a session that is gone (410). */
export function statusBody(status: number): string {
  return `{"status":${status}}`;
}

/** A poll's answer: 410 opens a session, 200 carries messages, 204 is an empty window. */
export function pollBody(status: 200 | 204 | 410, token: string, messages: readonly string[]): string {
  return JSON.stringify({ messages, status, token });
}

export const GONE = statusBody(410);
export const FORBIDDEN = statusBody(403);
export const OK = statusBody(200);
