/** The virtual clock now ships in `tether-rt/testing`; this path stays for the tests that import it from here. */
export { VirtualClock, flushMicrotasks } from '../../src/testing/clock.ts';
