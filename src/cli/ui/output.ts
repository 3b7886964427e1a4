/**
 * What `tether connect` reports, as timestamped human lines or as one JSON object a line (`--json`). Binary
 * payloads appear as `<N bytes>` for people and `{"$binary": base64}` in JSON.
 */
import { styleText } from 'node:util';
import type { Payload } from '../../protocol/frame.ts';

export type OutputEvent =
  | { type: 'state'; state: string; reason: string; detail: string }
  | { type: 'sent'; topic: string; event: string; payload: Payload }
  | { type: 'join'; topic: string; status: string; response: Payload | null; ms: number | null }
  | { type: 'leave'; topic: string; status: string }
  /** `timeoutMs` and `failure` come with status `timeout`: no reply within the push timeout, a failure or not. */
  | { type: 'reply'; topic: string; event: string; status: string; response: Payload | null; ms: number | null; timeoutMs?: number; failure?: boolean }
  | { type: 'message'; topic: string; event: string; payload: Payload }
  | { type: 'info'; text: string; data?: Record<string, unknown> }
  | { type: 'error'; code: string; message: string };

export interface OutputOptions {
  json: boolean;
  color: boolean;
  write(line: string): void;
  now?: () => Date;
}

type Style = Parameters<typeof styleText>[0];

export class Output {
  readonly #o: OutputOptions;

  constructor(options: OutputOptions) {
    this.#o = options;
  }

  emit(event: OutputEvent): void {
    const at = (this.#o.now ?? (() => new Date()))();
    if (this.#o.json) {
      this.#o.write(JSON.stringify({ t: at.toISOString(), ...event }, jsonReplacer));
      return;
    }
    const time = this.#paint('dim', at.toTimeString().slice(0, 8) + `.${String(at.getMilliseconds()).padStart(3, '0')}`);
    this.#o.write(`${time}  ${this.#human(event)}`);
  }

  #human(e: OutputEvent): string {
    const ms = (v: number | null) => (v === null ? '' : this.#paint('dim', `  ${v.toFixed(1)} ms`));
    switch (e.type) {
      case 'state':
        return `${this.#paint(e.state === 'open' ? 'green' : e.state === 'failed' ? 'red' : 'yellow', '●')} ${e.state}${this.#paint('dim', ` (${e.reason}) ${e.detail}`)}`;
      case 'sent':
        return `${this.#paint('dim', '→')} ${e.topic} ${this.#paint('bold', e.event)} ${show(e.payload)}`;
      case 'join':
        return `${this.#mark(e.status)} ${e.topic} ${e.status === 'ok' ? 'joined' : `join ${e.status}`} ${show(e.response)}${ms(e.ms)}`;
      case 'leave':
        return `${this.#mark(e.status)} ${e.topic} left`;
      case 'reply':
        if (e.status === 'timeout') {
          const mark = e.failure === false ? this.#paint('dim', '·') : this.#mark(e.status);
          return `${mark} ${e.topic} ${this.#paint('bold', e.event)} sent, no reply${e.timeoutMs === undefined ? '' : ` within ${formatSeconds(e.timeoutMs)}`}`;
        }
        return `${this.#mark(e.status)} ${e.topic} ${this.#paint('bold', e.event)} ${e.status} ${show(e.response)}${ms(e.ms)}`;
      case 'message':
        return `${this.#paint('cyan', '←')} ${e.topic} ${this.#paint('bold', e.event)} ${show(e.payload)}`;
      case 'info':
        return `${this.#paint('dim', 'ℹ')} ${e.text}`;
      case 'error':
        return `${this.#paint('red', '✗')} ${this.#paint('red', e.code)} ${e.message}`;
    }
  }

  #mark(status: string): string {
    return status === 'ok' ? this.#paint('green', '✓') : this.#paint('red', '✗');
  }

  #paint(style: Style, text: string): string {
    return this.#o.color ? styleText(style, text) : text;
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function show(payload: Payload | null): string {
  if (payload === null) return '';
  if (payload instanceof Uint8Array) return `<${payload.byteLength} bytes>`;
  return JSON.stringify(payload);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $binary: Buffer.from(value).toString('base64') } : value;
}
