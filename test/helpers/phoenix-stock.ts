/** Promise wrappers around the stock `phoenix` client: a join, a push's outcome, and a Presence list reaching a state. */
import type { Channel, Presence } from 'phoenix';

export function joinChannel(channel: Channel, timeoutMs = 1000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    channel.join(timeoutMs).receive('ok', resolve).receive('error', reject).receive('timeout', () => reject(new Error('join timeout')));
  });
}

export type Outcome = { status: 'ok' | 'error' | 'timeout'; response?: unknown };

export function push(channel: Channel, event: string, payload: object | ArrayBuffer, timeout = 1000): Promise<Outcome> {
  return new Promise((resolve) => {
    channel
      .push(event, payload, timeout)
      .receive('ok', (response) => resolve({ status: 'ok', response }))
      .receive('error', (response) => resolve({ status: 'error', response }))
      .receive('timeout', () => resolve({ status: 'timeout' }));
  });
}

export function presenceKeys(presence: Presence): string[] {
  return presence.list((key) => key).sort();
}

/** Resolves once the Presence's list of keys is exactly `want` (sorted). */
export function presenceSynced(presence: Presence, want: string[]): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = () => {
      if (JSON.stringify(presenceKeys(presence)) === JSON.stringify(want)) resolve();
    };
    presence.onSync(check);
    check();
  });
}
