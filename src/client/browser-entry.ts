/** The browser bundle's entry (`dist/tether-client.js`): the client plus the IndexedDB outbox store. */
export * from './index.ts';
export { IndexedDbOutboxStore, type IndexedDbOutboxOptions } from './outbox-indexeddb.ts';
