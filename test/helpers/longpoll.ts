/** A raw long-poll peer over fetch: each request and its JSON body as sent, for wire-level tests. */

export interface LpAnswer {
  http: number;
  headers: Headers;
  body: string;
}

export class LongPollPeer {
  readonly base: string;

  /** `httpUrl` of the server (`http://127.0.0.1:PORT`) and its mount. */
  constructor(httpUrl: string, mount = '/socket') {
    this.base = `${httpUrl}${mount}/longpoll`;
  }

  url(query: Record<string, string>): string {
    return `${this.base}?${new URLSearchParams(query)}`;
  }

  async get(query: Record<string, string>, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<LpAnswer> {
    const res = await fetch(this.url(query), { headers, signal });
    return { http: res.status, headers: res.headers, body: await res.text() };
  }

  async post(query: Record<string, string>, body: string, headers: Record<string, string> = { 'content-type': 'application/x-ndjson' }): Promise<LpAnswer> {
    const res = await fetch(this.url(query), { method: 'POST', headers, body });
    return { http: res.status, headers: res.headers, body: await res.text() };
  }

  /** Opens a session: the first GET's token (throws unless the answer is the 410 that opens one). */
  async open(query: Record<string, string> = { vsn: '2.0.0' }, headers: Record<string, string> = {}): Promise<string> {
    const answer = JSON.parse((await this.get(query, headers)).body) as { status: number; token?: string };
    if (answer.status !== 410 || typeof answer.token !== 'string') throw new Error(`no session: ${JSON.stringify(answer)}`);
    return answer.token;
  }
}

/** The session token, phx_refs and online_at made stable, as in ../shared/phoenix-longpoll-transcript.json. */
export function normalize(body: string, token: string | null): string {
  let out = token === null ? body : body.split(token).join('<session>');
  out = out.replace(/(\\*"phx_ref\\*":\\*")[A-Za-z0-9_-]+/g, '$1<ref>').replace(/(\\*"online_at\\*":\\*")[0-9]+/g, '$1<t>');
  return out;
}
