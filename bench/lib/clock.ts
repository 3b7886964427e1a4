/** Microseconds on the machine-wide monotonic clock, comparable between processes on one host. */
export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
