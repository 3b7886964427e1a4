import type { BrokerEvents } from './types.ts';

type ListenerLists = { [E in keyof BrokerEvents]?: BrokerEvents[E][] };

/**
 * The typed event surface both drivers share. Listener arrays are replaced (copy-on-write) on `on`/`off`, so
 * `emit` on the per-message path iterates without copying and a listener may unsubscribe during delivery.
 */
export class BrokerEmitter {
  #listeners: ListenerLists = {};

  on<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this {
    const list = this.#listeners[event] as BrokerEvents[E][] | undefined;
    this.#listeners[event] = (list ? [...list, listener] : [listener]) as ListenerLists[E];
    return this;
  }

  off<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this {
    const list = this.#listeners[event] as BrokerEvents[E][] | undefined;
    const i = list ? list.indexOf(listener) : -1;
    if (list && i >= 0) this.#listeners[event] = list.filter((_, j) => j !== i) as ListenerLists[E];
    return this;
  }

  listenerCount(event: keyof BrokerEvents): number {
    return this.#listeners[event]?.length ?? 0;
  }

  protected emit<E extends keyof BrokerEvents>(event: E, ...args: Parameters<BrokerEvents[E]>): void {
    const list = this.#listeners[event] as ((...a: Parameters<BrokerEvents[E]>) => void)[] | undefined;
    if (!list) {
      // An error nobody listens for must still surface somewhere, without crashing the node.
      if (event === 'error') process.emitWarning(args[0] as Error);
      return;
    }
    for (let i = 0; i < list.length; i++) list[i](...args);
  }
}
