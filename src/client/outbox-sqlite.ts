/**
 * A durable outbox store for Node: one SQLite file through the built-in `node:sqlite`. Writes are synchronous,
 * so a message is on disk (WAL) when `channel.push()` returns and survives a kill -9 of the process. Import it
 * from its own module so browser bundles never see `node:sqlite`.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { OutboxStore, StoredMessage } from './outbox-store.ts';

export interface SqliteOutboxOptions {
  /** Table name. Default 'tether_outbox'. */
  table?: string;
}

export class SqliteOutboxStore implements OutboxStore {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #remove: StatementSync;
  readonly #selectAll: StatementSync;

  constructor(path: string, options: SqliteOutboxOptions = {}) {
    const table = options.table ?? 'tether_outbox';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new TypeError(`table must be a plain SQL identifier, got "${table}"`);
    this.path = path;
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      id TEXT PRIMARY KEY, seq INTEGER NOT NULL, topic TEXT NOT NULL, event TEXT NOT NULL,
      json TEXT, bytes BLOB, created_at INTEGER NOT NULL, expires_at INTEGER, timeout_ms INTEGER NOT NULL)`);
    this.#insert = this.#db.prepare(`INSERT OR REPLACE INTO ${table} (id, seq, topic, event, json, bytes, created_at, expires_at, timeout_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#remove = this.#db.prepare(`DELETE FROM ${table} WHERE id = ?`);
    this.#selectAll = this.#db.prepare(`SELECT id, seq, topic, event, json, bytes, created_at, expires_at, timeout_ms FROM ${table} ORDER BY seq`);
  }

  load(): StoredMessage[] {
    return this.#selectAll.all().map((row) => ({
      id: row.id as string,
      seq: Number(row.seq),
      topic: row.topic as string,
      event: row.event as string,
      body: row.json !== null ? (row.json as string) : new Uint8Array(row.bytes as Uint8Array),
      createdAt: Number(row.created_at),
      expiresAt: row.expires_at === null ? null : Number(row.expires_at),
      timeoutMs: Number(row.timeout_ms),
    }));
  }

  put(m: StoredMessage): void {
    const json = typeof m.body === 'string' ? m.body : null;
    const bytes = typeof m.body === 'string' ? null : m.body;
    this.#insert.run(m.id, m.seq, m.topic, m.event, json, bytes, m.createdAt, m.expiresAt, m.timeoutMs);
  }

  delete(id: string): void {
    this.#remove.run(id);
  }

  close(): void {
    this.#db.close();
  }
}
