/**
 * Live fuzzing: several connections send random valid-ish and invalid frames (fuzz-arbitraries.ts) to a
 * server while one well-behaved client keeps doing echo round trips. Counts frames sent, close codes seen
 * (and HTTP refusals), and the well-behaved client's round trips and failures. The caller owns the server and
 * decides what a crash is (the process exiting, or an uncaught exception in this one).
 */
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { fuzzLongPoll } from './fuzz-longpoll.ts';
import { connectQuery, fuzzFrame, sessionFrame, SESSION_TOPICS, validishV1Frame, validishV2Frame, type FuzzFrame } from './fuzz-arbitraries.ts';

export interface FuzzOptions {
  /** `ws://host:port/socket` */
  url: string;
  connections: number;
  durationMs: number;
  seed: number;
  /** Frames each fuzz connection sends before it yields for `pauseMs`; bounds the load (default 5 and 2 ms). */
  burst?: number;
  pauseMs?: number;
  /** The well-behaved client's topic (a demo `room:*` that echoes); by default one the fuzzers shout into. */
  echoTopic?: string;
  /** A round trip slower than this is a failure (default 5000 ms). */
  echoTimeoutMs?: number;
  /** Called between connections: true stops the run early (e.g. the server process died). */
  shouldStop?: () => boolean;
  /** Long-poll fuzz peers (`${url}/longpoll`, fuzz-longpoll.ts) beside the WebSocket ones (default 0). */
  longPoll?: number;
}

export interface FuzzReport {
  framesSent: number;
  connectionsOpened: number;
  /** Close code (or `http NNN` for a refused upgrade, `error` for a socket error before open) -> count. */
  closes: Map<string, number>;
  echo: { roundTrips: number; failures: number; maxMs: number; failuresDetail: string[] };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Draws values from an arbitrary forever, in seeded batches. */
function* stream<T>(arb: fc.Arbitrary<T>, seed: number): Generator<T> {
  for (let batch = 0; ; batch++) yield* fc.sample(arb, { numRuns: 200, seed: seed + batch * 7919 });
}

/** Mostly `main`, one frame in 50 from `rare`. */
function* mix<T>(main: Generator<T>, rare: Generator<T>): Generator<T> {
  for (let n = 1; ; n++) yield (n % 50 === 0 ? rare : main).next().value as T;
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** One fuzz connection's life: connect with random params, send frames until the server closes it or time is up. */
function fuzzOnce(url: string, query: string, frames: Generator<FuzzFrame>, report: FuzzReport, deadline: number, burst: number, pauseMs: number, opening: string[] = []): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}/websocket?${query}`);
    let open = false;
    let done = false;
    const finish = (key: string) => {
      if (done) return;
      done = true;
      count(report.closes, key);
      resolve();
    };
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      finish(`http ${res.statusCode}`);
      ws.terminate();
    });
    ws.on('error', () => {
      if (!open) finish('error');
    });
    ws.on('message', () => undefined);
    ws.on('close', (code) => finish(String(code)));
    ws.on('open', async () => {
      open = true;
      report.connectionsOpened++;
      for (const text of opening) {
        ws.send(text);
        report.framesSent++;
      }
      while (ws.readyState === WebSocket.OPEN && Date.now() < deadline) {
        for (let i = 0; i < burst && ws.readyState === WebSocket.OPEN; i++) {
          const { data, binary } = frames.next().value as FuzzFrame;
          ws.send(data, { binary });
          report.framesSent++;
        }
        await sleep(pauseMs);
      }
      if (ws.readyState === WebSocket.OPEN) {
        ws.close(1000);
        setTimeout(() => ws.terminate(), 1000).unref();
      }
    });
  });
}

/** The well-behaved client: join a room, then echo round trips until the deadline; reconnects if it must. */
async function wellBehaved(url: string, topic: string, timeoutMs: number, report: FuzzReport, deadline: number): Promise<void> {
  let n = 0;
  while (Date.now() < deadline) {
    const ws = new WebSocket(`${url}/websocket?vsn=2.0.0&user=well-behaved`);
    const pending = new Map<string, (frame: unknown[]) => void>();
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const f = JSON.parse(data.toString()) as unknown[];
      if (f[3] === 'phx_reply') pending.get(f[1] as string)?.(f);
    });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    const request = (frame: unknown[]): Promise<unknown[] | null> =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), timeoutMs);
        pending.set(frame[1] as string, (f) => {
          clearTimeout(timer);
          resolve(f);
        });
        ws.send(JSON.stringify(frame));
      });
    const opened = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('error', () => resolve(false));
    });
    if (!opened) {
      report.echo.failures++;
      report.echo.failuresDetail.push('well-behaved connect failed');
      await sleep(200);
      continue;
    }
    const joined = await request(['1', String(++n), topic, 'phx_join', {}]);
    if (joined === null || (joined[4] as { status: string }).status !== 'ok') {
      report.echo.failures++;
      report.echo.failuresDetail.push(`join: ${JSON.stringify(joined)}`);
    }
    while (ws.readyState === WebSocket.OPEN && Date.now() < deadline) {
      const ref = String(++n);
      const started = performance.now();
      const reply = await request(['1', ref, topic, 'echo', { n }]);
      const ms = performance.now() - started;
      if (reply === null || (reply[4] as { status: string }).status !== 'ok' || (reply[4] as { response: { n: number } }).response.n !== n) {
        report.echo.failures++;
        report.echo.failuresDetail.push(`echo ${ref}: ${reply === null ? `no reply within ${timeoutMs} ms` : JSON.stringify(reply)}`);
      } else {
        report.echo.roundTrips++;
        report.echo.maxMs = Math.max(report.echo.maxMs, ms);
      }
      await sleep(20);
    }
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000);
      await closed;
    } else if (Date.now() < deadline) {
      report.echo.failures++;
      report.echo.failuresDetail.push(`well-behaved connection closed: ${await closed}`);
    }
  }
}

export async function fuzzServer(options: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = { framesSent: 0, connectionsOpened: 0, closes: new Map(), echo: { roundTrips: 0, failures: 0, maxMs: 0, failuresDetail: [] } };
  const deadline = Date.now() + options.durationMs;
  const burst = options.burst ?? 5;
  const pauseMs = options.pauseMs ?? 2;
  const fuzzers = Array.from({ length: options.connections }, async (_, i) => {
    const seed = options.seed + i * 1_000_003;
    // Three profiles. Chaos sends anything (most such connections die at their first bad frame). Valid-ish
    // sends frames its version decodes to random topics. Session joins the session topics first, then sends
    // random events and payloads on them, so handlers, presence, shouts and replies see hostile data. The
    // last two take one frame in 50 from the chaos mix.
    const chaos = stream(fuzzFrame, seed);
    const validish = { '1': mix(stream(validishV1Frame, seed + 1), chaos), '2': mix(stream(validishV2Frame, seed + 2), chaos) };
    const session = mix(stream(sessionFrame, seed + 3), chaos);
    const queries = stream(connectQuery, options.seed + i * 31);
    const profile = i % 3;
    while (Date.now() < deadline && !options.shouldStop?.()) {
      let query = queries.next().value as string;
      const v1 = new URLSearchParams(query).get('vsn')?.startsWith('1') === true;
      if (profile === 0) {
        await fuzzOnce(options.url, query, chaos, report, deadline, burst, pauseMs);
      } else if (profile === 1) {
        await fuzzOnce(options.url, query, validish[v1 ? '1' : '2'], report, deadline, burst, pauseMs);
      } else {
        const params = new URLSearchParams(query);
        params.set('vsn', '2.0.0');
        query = params.toString();
        const joins = SESSION_TOPICS.map((t) => JSON.stringify([`j:${t}`, `j:${t}`, t, 'phx_join', {}]));
        await fuzzOnce(options.url, query, session, report, deadline, burst, pauseMs, joins);
      }
      await sleep(5);
    }
  });
  // Their answers count beside the close codes (`lp <status>`); their frames with the others.
  const lp = { framesSent: 0, sessionsOpened: 0, closes: report.closes };
  const httpBase = options.url.replace(/^ws/, 'http');
  const longPollers = Array.from({ length: options.longPoll ?? 0 }, (_, i) => fuzzLongPoll(httpBase, options.seed + 77 + i * 7_777, deadline, lp));
  await Promise.all([...fuzzers, ...longPollers, wellBehaved(options.url, options.echoTopic ?? SESSION_TOPICS[0], options.echoTimeoutMs ?? 5000, report, deadline)]);
  report.framesSent += lp.framesSent;
  report.connectionsOpened += lp.sessionsOpened;
  return report;
}

/** `1007 x12, 1000 x3, http 403 x2` (close codes, error kinds...), most frequent first. */
export function formatCounts(counts: Map<string, number>): string {
  return [...counts].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${key} x${n}`).join(', ');
}
