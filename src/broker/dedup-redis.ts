import type { Payload } from '../protocol/frame.ts';
import type { RedisKeys } from './redis-keys.ts';
import { LuaScript, type CommandRunner } from './redis-scripts.ts';
import type { DedupClaim, DedupOutcome, DedupStore } from './types.ts';

/** `r` marks a claim still running; a finished record is `d` + the outcome's JSON (see `encodeOutcome`). */
const RUNNING = 'r';
const DONE = 'd';

// One round trip: claim with SET NX PX, or read what is there.
const CLAIM = new LuaScript(`
if redis.call('SET', KEYS[1], '${RUNNING}', 'NX', 'PX', ARGV[1]) then return false end
return redis.call('GET', KEYS[1])`);

const NEW: DedupClaim = Object.freeze({ state: 'new' });
const RUNNING_CLAIM: DedupClaim = Object.freeze({ state: 'running' });

/** `{k:"r",s,r}` a JSON reply, `{k:"b",s,b}` a binary reply (base64), `{k:"n"}` no reply, `{k:"c"}` a crash. */
export function encodeOutcome(outcome: DedupOutcome): string {
  if (outcome.kind === 'noreply') return `${DONE}{"k":"n"}`;
  if (outcome.kind === 'crash') return `${DONE}{"k":"c"}`;
  const { status, response } = outcome;
  const body = response instanceof Uint8Array
    ? { k: 'b', s: status, b: Buffer.from(response.buffer, response.byteOffset, response.byteLength).toString('base64') }
    : { k: 'r', s: status, r: response };
  return DONE + JSON.stringify(body);
}

export function decodeRecord(record: string): DedupClaim {
  if (record === RUNNING) return RUNNING_CLAIM;
  if (record[0] !== DONE) throw new Error(`dedup record: unknown kind ${JSON.stringify(record.slice(0, 8))}`);
  const body = JSON.parse(record.slice(1)) as { k: string; s?: string; r?: Payload; b?: string };
  switch (body.k) {
    case 'n':
      return { state: 'done', outcome: { kind: 'noreply' } };
    case 'c':
      return { state: 'done', outcome: { kind: 'crash' } };
    case 'r':
      return { state: 'done', outcome: { kind: 'reply', status: String(body.s), response: body.r ?? {} } };
    case 'b':
      return { state: 'done', outcome: { kind: 'reply', status: String(body.s), response: new Uint8Array(Buffer.from(String(body.b), 'base64')) } };
    default:
      throw new Error(`dedup record: unknown outcome kind ${JSON.stringify(body.k)}`);
  }
}

function ttl(ttlMs: number): string {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`dedup ttlMs must be a positive integer, got ${ttlMs}`);
  return String(ttlMs);
}

/** One string key per (scope, id): `r` while claimed, then the outcome; both expire with PX. */
export class RedisDedupStore implements DedupStore {
  readonly #client: CommandRunner;
  readonly #keys: RedisKeys;

  constructor(client: CommandRunner, keys: RedisKeys) {
    this.#client = client;
    this.#keys = keys;
  }

  async claim(scope: string, id: string, ttlMs: number): Promise<DedupClaim> {
    const record = await CLAIM.run<string | null>(this.#client, [this.#keys.dedup(scope, id)], [ttl(ttlMs)]);
    return record === null ? NEW : decodeRecord(record);
  }

  async complete(scope: string, id: string, outcome: DedupOutcome, ttlMs: number): Promise<void> {
    await this.#client.sendCommand(['SET', this.#keys.dedup(scope, id), encodeOutcome(outcome), 'PX', ttl(ttlMs)]);
  }

  async release(scope: string, id: string): Promise<void> {
    await this.#client.sendCommand(['DEL', this.#keys.dedup(scope, id)]);
  }
}
