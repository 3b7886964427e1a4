import { systemTimers, type BrokerTimers } from '../broker/timers.ts';

/**
 * The time source of the server's timers, injectable so tests run idle sweeps and batching in virtual time.
 * It is the broker's timer set plus `now`, so one virtual clock can drive both.
 */
export interface Clock extends BrokerTimers {
  now(): number;
}

export const systemClock: Clock = {
  ...systemTimers,
  now: () => Date.now(),
  setInterval: (callback, ms) => {
    const handle = setInterval(callback, ms);
    handle.unref();
    return handle;
  },
};
