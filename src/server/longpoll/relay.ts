/**
 * The long-poll relay of a single node: no other node to reach, so a request for a session another node owns
 * finds no answer (the endpoint turns that into `{"status":410}` and the client opens a new session here).
 */
import type { Broker } from '../../broker/types.ts';
import type { LongPollRelay } from './types.ts';

export function createLongPollRelay(_broker: Broker): LongPollRelay {
  return {
    serve() {},
    forward: () => Promise.resolve(null),
    close() {},
  };
}
