/** Maps topics to channel definitions: exact topics first, then the longest `prefix:*` pattern that matches. */
import type { ChannelDefinition } from './channel.ts';

export interface Route {
  pattern: string;
  definition: ChannelDefinition;
  /** The definition's `intercept` as a set (shared by every channel of the route), or null when empty. */
  intercepts: ReadonlySet<string> | null;
}

export class Router {
  readonly #exact = new Map<string, Route>();
  /** Sorted longest prefix first, so `room:vip:*` wins over `room:*`. */
  readonly #prefixes: { prefix: string; route: Route }[] = [];

  constructor(channels: Readonly<Record<string, ChannelDefinition>>) {
    for (const [pattern, definition] of Object.entries(channels)) {
      const { intercept } = definition;
      const route = { pattern, definition, intercepts: intercept && intercept.length > 0 ? new Set(intercept) : null };
      const star = pattern.indexOf('*');
      if (star === -1) {
        this.#exact.set(pattern, route);
      } else if (star === pattern.length - 1) {
        this.#prefixes.push({ prefix: pattern.slice(0, -1), route });
      } else {
        throw new TypeError(`channel pattern "${pattern}": "*" may only end a pattern (like "room:*")`);
      }
    }
    this.#prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  match(topic: string): Route | null {
    const exact = this.#exact.get(topic);
    if (exact) return exact;
    for (const { prefix, route } of this.#prefixes) {
      if (topic.startsWith(prefix)) return route;
    }
    return null;
  }
}
