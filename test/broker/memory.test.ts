import { MemoryBroker } from '../../src/broker/memory.ts';
import { MemoryHistoryStore } from '../../src/broker/history-memory.ts';
import { runBrokerSuite } from './broker-suite.ts';

/** Virtual time per namespace, so TTL scenarios run without sleeping. */
const clocks = new Map<string, { now: number }>();
function clock(namespace: string) {
  let c = clocks.get(namespace);
  if (!c) clocks.set(namespace, (c = { now: 1_000_000 }));
  return c;
}

runBrokerSuite({
  name: 'memory',
  create(namespace, options) {
    const c = clock(namespace);
    return new MemoryBroker({
      nodeId: options?.nodeId,
      inboxMaxMessageBytes: options?.inboxMaxMessageBytes,
      inboxMaxPendingRequests: options?.inboxMaxPendingRequests,
      history: { now: () => c.now, maxMessages: options?.historyMaxMessages, maxMessageBytes: options?.historyMaxMessageBytes },
    });
  },
  async advance(namespace, ms) {
    clock(namespace).now += ms;
  },
  ttlMs: 60_000,
  // A new store is what a restarted process has.
  async loseHistory(namespace) {
    const c = clock(namespace);
    return new MemoryHistoryStore({ now: () => c.now });
  },
  async cleanup(namespace) {
    clocks.delete(namespace);
  },
});
