/** A one-line progress bar redrawn in place on a terminal; silent elsewhere (scripts read the final result). */

export interface ProgressState {
  /** 0..1 */
  fraction: number;
  /** Text after the bar, e.g. `4.1s / 10s · 12.3k msg/s`. */
  detail: string;
}

export function renderProgress(state: ProgressState, width = 30): string {
  const fraction = Math.min(1, Math.max(0, state.fraction));
  const filled = Math.round(fraction * width);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${percent}  ${state.detail}`;
}

export class ProgressLine {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  #drawn = false;

  constructor(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) {
    this.#stream = stream;
  }

  get enabled(): boolean {
    return this.#stream.isTTY === true;
  }

  update(state: ProgressState): void {
    if (!this.enabled) return;
    const columns = this.#stream.columns ?? 80;
    const line = renderProgress(state, Math.max(10, Math.min(30, columns - 50))).slice(0, columns - 1);
    this.#stream.write(`\r\x1b[2K${line}`);
    this.#drawn = true;
  }

  /** Clears the bar so the next output starts on a clean line. */
  done(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[2K');
    this.#drawn = false;
  }
}
