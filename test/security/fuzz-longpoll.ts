/**
 * Long-poll fuzzing: a peer opens a session with a random connect query, then POSTs batches of fuzz frames (JSON
 * lines as they are, binary as base64, with raw garbage lines, odd content types and forged tokens mixed in) and
 * polls, sometimes two polls at once. Every answer is counted by its status (`lp 200`, `lp 410`, ...), as fuzz
 * closes are, so the caller can check each one is documented.
 */
import fc from 'fast-check';
import { connectQuery, fuzzFrame, sessionFrame, SESSION_TOPICS, type FuzzFrame } from './fuzz-arbitraries.ts';

export interface LongPollFuzzReport {
  framesSent: number;
  sessionsOpened: number;
  /** `lp <status>` (the status inside the JSON answer), `lp http <n>` for a non-JSON answer -> count. */
  closes: Map<string, number>;
}

/** A line that is neither a frame nor base64, or an edge of the ndjson framing. */
const garbageLine = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '\r', '[', '=', '====', 'AAA', '{"a":1}', '[]', '[null]', 'null', '\u0000', '\ud800'),
  fc.base64String({ maxLength: 40 }),
);

const batch: fc.Arbitrary<{ lines: Array<FuzzFrame | string>; contentType: string; forge: boolean }> = fc.record({
  lines: fc.array(fc.oneof({ weight: 6, arbitrary: fc.oneof(sessionFrame, fuzzFrame) }, { weight: 1, arbitrary: garbageLine }), { maxLength: 12 }),
  contentType: fc.constantFrom('application/x-ndjson', 'application/x-ndjson', 'application/x-ndjson', 'application/json', 'text/plain', ''),
  forge: fc.boolean().map((b) => b && Math.random() < 0.1),
});

function toLine(line: FuzzFrame | string): string {
  if (typeof line === 'string') return line;
  return typeof line.data === 'string' ? line.data : Buffer.from(line.data).toString('base64');
}

/** Between a peer's rounds, so two peers do not take the machine from the server they fuzz. */
const PAUSE_MS = 10;

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

async function answer(res: Promise<Response>, report: LongPollFuzzReport): Promise<{ status: number; token?: string } | null> {
  try {
    const r = await res;
    const text = await r.text();
    try {
      const json = JSON.parse(text) as { status: number; token?: string };
      count(report.closes, `lp ${json.status}`);
      return json;
    } catch {
      count(report.closes, `lp http ${r.status}`);
      return null;
    }
  } catch {
    count(report.closes, 'lp error');
    return null;
  }
}

/** One fuzzing long-poll peer until the deadline: sessions one after another. `base` is `http://host:port/socket`. */
export async function fuzzLongPoll(base: string, seed: number, deadline: number, report: LongPollFuzzReport): Promise<void> {
  const endpoint = `${base}/longpoll`;
  const queries = fc.sample(connectQuery, { numRuns: 500, seed });
  const batches = fc.sample(batch, { numRuns: 500, seed: seed + 1 });
  let q = 0;
  let b = 0;
  while (Date.now() < deadline) {
    const opened = await answer(fetch(`${endpoint}?${queries[q++ % queries.length]}`), report);
    if (opened?.status !== 410 || opened.token === undefined) continue;
    report.sessionsOpened++;
    const token = opened.token;
    const joins = SESSION_TOPICS.map((t) => JSON.stringify([`j:${t}`, `j:${t}`, t, 'phx_join', {}])).join('\n');
    await answer(fetch(`${endpoint}?token=${encodeURIComponent(token)}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: joins }), report);
    let alive = true;
    while (alive && Date.now() < deadline) {
      const next = batches[b++ % batches.length]!;
      const used = next.forge ? `${token.slice(0, -3)}abc` : token;
      const headers: Record<string, string> = next.contentType === '' ? {} : { 'content-type': next.contentType };
      const body = next.lines.map(toLine).join('\n');
      report.framesSent += next.lines.length;
      const posted = await answer(fetch(`${endpoint}?token=${encodeURIComponent(used)}`, { method: 'POST', headers, body }), report);
      // Polls: usually one, sometimes two at once (the older is answered at once); a short client timeout.
      const polls = b % 5 === 0 ? 2 : 1;
      const results = await Promise.all(
        Array.from({ length: polls }, () => answer(fetch(`${endpoint}?token=${encodeURIComponent(token)}`, { signal: AbortSignal.timeout(300) }), report)),
      );
      alive = posted?.status !== 410 && results.every((r) => r === null || r.status !== 410);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }
}
