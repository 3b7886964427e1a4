/** The endpoints a Socket may connect to, in order, and which one the next attempt uses. */

export class EndpointRotation {
  readonly list: readonly string[];
  #index = 0;

  /** One URL, or several (tried in the given order, starting with the first). */
  constructor(endpoints: string | readonly string[]) {
    const list = typeof endpoints === 'string' ? [endpoints] : [...endpoints];
    if (list.length === 0 || list.some((e) => typeof e !== 'string' || e === '')) {
      throw new TypeError('Socket needs an endpoint URL, or a non-empty list of them');
    }
    this.list = Object.freeze(list);
  }

  get current(): string {
    return this.list[this.#index];
  }

  /** True when there is another endpoint to move to. */
  get several(): boolean {
    return this.list.length > 1;
  }

  /** The endpoint `advance()` would move to. */
  get following(): string {
    return this.list[(this.#index + 1) % this.list.length];
  }

  /** Moves to the next endpoint (wrapping around) and returns it. */
  advance(): string {
    this.#index = (this.#index + 1) % this.list.length;
    return this.current;
  }
}
