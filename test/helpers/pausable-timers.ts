import { systemTimers, type BrokerTimers } from '../../src/broker/timers.ts';

/** Timers whose interval callbacks can be held back: a broker on them can be frozen like a stopped process. */
export class PausableTimers implements BrokerTimers {
  paused = false;
  setInterval = (callback: () => void, ms: number) => systemTimers.setInterval(() => this.paused || callback(), ms);
  clearInterval = systemTimers.clearInterval;
  setTimeout = systemTimers.setTimeout;
  clearTimeout = systemTimers.clearTimeout;
}
