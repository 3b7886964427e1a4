/**
 * A durable outbox store for browsers: one IndexedDB object store. `put` resolves once its transaction has
 * committed, so a push whose `persisted` promise resolved survives a reload or a crash of the tab.
 */
import type { OutboxStore, StoredMessage } from './outbox-store.ts';

export interface IndexedDbOutboxOptions {
  /** Database name. Default 'tether-outbox'. Use one per app (and per user, if they share a browser). */
  database?: string;
  /** Default: the global indexedDB. */
  indexedDB?: IDBFactory;
}

const STORE = 'messages';

export class IndexedDbOutboxStore implements OutboxStore {
  readonly #db: Promise<IDBDatabase>;

  constructor(options: IndexedDbOutboxOptions = {}) {
    const factory = options.indexedDB ?? globalThis.indexedDB;
    this.#db = new Promise((resolve, reject) => {
      const request = factory.open(options.database ?? 'tether-outbox', 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error('indexedDB.open failed'));
    });
  }

  async load(): Promise<StoredMessage[]> {
    const all = await this.#run<StoredMessage[]>('readonly', (store) => store.getAll() as IDBRequest<StoredMessage[]>);
    return all.sort((a, b) => a.seq - b.seq);
  }

  async put(message: StoredMessage): Promise<void> {
    await this.#run('readwrite', (store) => store.put(message));
  }

  async delete(id: string): Promise<void> {
    await this.#run('readwrite', (store) => store.delete(id));
  }

  async close(): Promise<void> {
    (await this.#db).close();
  }

  async #run<T>(mode: IDBTransactionMode, op: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.#db;
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode, { durability: 'strict' });
      const request = op(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  }
}
