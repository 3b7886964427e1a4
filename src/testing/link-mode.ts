/**
 * A faulty link's modes and schedules, and the text forms the CLI takes (`latency=200ms~50ms`,
 * `"5s ok; 3s blackhole; 2s latency=200ms; heal"`). One parser serves `tether proxy --script` and
 * `link.run(...)`, so a script behaves the same in both.
 */

/**
 * What the link does to the bytes of every proxied connection:
 * - `ok`: pass-through, optionally shaped (each chunk delayed by `latencyMs` plus up to `jitterMs`, order kept;
 *   each direction of each connection capped at `bytesPerSecond`).
 * - `blackhole`: nothing crosses and nothing is closed; bytes, FINs and resets are held until the link heals.
 * - `reset`: every connection, and every new one while the mode lasts, is cut with a TCP RST on both sides.
 * - `half-open`: the client side of every connection (and of every new one) gets a FIN; the server side stays
 *   open, its bytes unread, as if the client had vanished. Healing resets those server sides.
 */
export type LinkMode =
  | { kind: 'ok'; latencyMs?: number; jitterMs?: number; bytesPerSecond?: number }
  | { kind: 'blackhole' }
  | { kind: 'reset' }
  | { kind: 'half-open' };

export type LinkModeKind = LinkMode['kind'];

/** One step of a schedule: a mode for `durationMs`, or for good when `durationMs` is null (the last step only). */
export interface LinkStep {
  readonly durationMs: number | null;
  readonly mode: LinkMode;
  /** The step as written, for messages. */
  readonly text: string;
}

export interface LinkSchedule {
  readonly steps: readonly LinkStep[];
}

/** A mode or script that does not parse; `exitCode` 2 is the CLI's usage error. */
export class LinkScriptError extends Error {
  override readonly name = 'LinkScriptError';
  readonly exitCode = 2;
}

export const PASS_THROUGH: LinkMode = Object.freeze({ kind: 'ok' });

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)$/;
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };
const RATE = /^(\d+(?:\.\d+)?)(b|kb|kib|mb|mib)?(?:\/s)?$/i;
const RATE_UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1024 * 1024 };

/** `500ms`, `5s`, `1.5s`, `2m` -> milliseconds. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (m === null) throw new LinkScriptError(`"${text}" is not a duration (use 500ms, 5s or 2m)`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]]);
}

/** `65536`, `64KiB/s`, `8kB/s`, `1MiB` -> bytes per second (k = 1000, Ki = 1024). */
export function parseRate(text: string): number {
  const m = RATE.exec(text.trim());
  const value = m === null ? NaN : Math.floor(Number(m[1]) * RATE_UNITS[(m[2] ?? 'b').toLowerCase()]);
  if (!(value >= 1)) throw new LinkScriptError(`"${text}" is not a rate of at least 1 byte/s (use 65536, 64KiB/s or 8kB/s)`);
  return value;
}

const BARE: Readonly<Record<string, LinkMode>> = {
  ok: PASS_THROUGH,
  heal: PASS_THROUGH,
  blackhole: { kind: 'blackhole' },
  reset: { kind: 'reset' },
  'half-open': { kind: 'half-open' },
};

/**
 * `ok`, `heal`, `blackhole`, `reset`, `half-open`, or pass-through settings joined by commas:
 * `latency=200ms`, `latency=200ms~50ms` (jitter after `~`), `bandwidth=64KiB/s`.
 */
export function parseLinkMode(text: string): LinkMode {
  const trimmed = text.trim();
  const bare = Object.hasOwn(BARE, trimmed) ? BARE[trimmed] : undefined;
  if (bare !== undefined) return bare;
  const mode: { kind: 'ok'; latencyMs?: number; jitterMs?: number; bytesPerSecond?: number } = { kind: 'ok' };
  for (const part of trimmed.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim();
    const arg = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (Object.hasOwn(BARE, name)) throw new LinkScriptError(`mode "${name}" takes no argument and cannot be combined (in "${trimmed}")`);
    if (arg === '') throw new LinkScriptError(`unknown mode "${trimmed}" (use ok, heal, blackhole, reset, half-open, latency=200ms[~50ms] or bandwidth=64KiB/s)`);
    if (name === 'latency') {
      const [base, jitter] = arg.split('~');
      mode.latencyMs = parseDuration(base);
      if (jitter !== undefined) mode.jitterMs = parseDuration(jitter);
    } else if (name === 'bandwidth') {
      mode.bytesPerSecond = parseRate(arg);
    } else {
      throw new LinkScriptError(`unknown setting "${name}" in "${trimmed}" (use latency=200ms[~50ms] or bandwidth=64KiB/s)`);
    }
  }
  return mode;
}

/**
 * `"5s ok; 3s blackhole; 2s latency=200ms; heal"`: steps separated by `;`, each a duration and a mode. The last
 * step's mode stays in force once its duration is over, and the last step alone may omit the duration
 * (`heal` = back to pass-through for good). A trailing `;` is allowed.
 */
export function parseLinkScript(text: string): LinkSchedule {
  const parts = text.split(';').map((s) => s.trim());
  if (parts.length > 1 && parts.at(-1) === '') parts.pop();
  if (parts.length === 0 || parts.every((p) => p === '')) throw new LinkScriptError('the script is empty');
  const steps = parts.map((part, i): LinkStep => {
    const where = `step ${i + 1} "${part}"`;
    if (part === '') throw new LinkScriptError(`step ${i + 1} is empty`);
    const words = part.split(/\s+/);
    if (words.length > 2) throw new LinkScriptError(`${where}: expected a duration and a mode, like "3s blackhole"`);
    try {
      if (words.length === 1) {
        if (i !== parts.length - 1) throw new LinkScriptError('only the last step may omit its duration');
        return { durationMs: null, mode: parseLinkMode(words[0]), text: part };
      }
      const durationMs = parseDuration(words[0]);
      if (durationMs <= 0) throw new LinkScriptError('a step lasts more than 0 ms');
      return { durationMs, mode: parseLinkMode(words[1]), text: part };
    } catch (err) {
      if (err instanceof LinkScriptError) throw new LinkScriptError(`${where}: ${err.message}`);
      throw err;
    }
  });
  return { steps };
}

/** The text form of a mode, as `parseLinkMode` reads it back. */
export function formatLinkMode(mode: LinkMode): string {
  if (mode.kind !== 'ok') return mode.kind;
  const parts: string[] = [];
  if (mode.latencyMs !== undefined) parts.push(`latency=${mode.latencyMs}ms${mode.jitterMs ? `~${mode.jitterMs}ms` : ''}`);
  if (mode.bytesPerSecond !== undefined) parts.push(`bandwidth=${mode.bytesPerSecond}`);
  return parts.length === 0 ? 'ok' : parts.join(',');
}

/** Checks a mode given as an object (from code, not text): numbers finite and in range. */
export function validateLinkMode(mode: LinkMode): LinkMode {
  if (mode.kind === 'ok') {
    for (const key of ['latencyMs', 'jitterMs', 'bytesPerSecond'] as const) {
      const v = mode[key];
      if (v !== undefined && !(Number.isFinite(v) && v >= (key === 'bytesPerSecond' ? 1 : 0))) throw new LinkScriptError(`${key} must be a finite number${key === 'bytesPerSecond' ? ' >= 1' : ' >= 0'}, got ${v}`);
    }
    return mode;
  }
  if (!Object.hasOwn(BARE, mode.kind)) throw new LinkScriptError(`unknown mode kind "${String((mode as { kind: unknown }).kind)}"`);
  return mode;
}
