/**
 * Structured logging through pino, and a ServerObserver that writes the server's events to it. The observer
 * implements the per-frame hooks only when `trace` is enabled: the server skips a hook no observer
 * implements, so at the default level logging costs nothing per message.
 */
import { styleText } from 'node:util';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { ServerObserver } from '../server/observer.ts';
import type { LogFormat, LogLevel } from './config.ts';
import { RepeatedErrorLog, type RepeatedErrorLogOptions } from './error-log.ts';

export type { Logger };

export interface LoggerOptions {
  level: LogLevel;
  /** Default `json`. `auto` is `pretty` when the destination (stdout by default) is a terminal. */
  format?: LogFormat;
  /** Where lines go; default stdout. */
  destination?: DestinationStream & { isTTY?: boolean };
}

export function createLogger(options: LoggerOptions): Logger {
  const out = options.destination ?? process.stdout;
  const format = options.format === 'auto' ? (out.isTTY ? 'pretty' : 'json') : (options.format ?? 'json');
  return pino(
    {
      name: 'tether',
      level: options.level,
      // Never write a credential, even if a caller logs a whole params or config object.
      redact: { paths: ['token', 'adminToken', '*.token', '*.adminToken', 'params.token', '*.metricsToken', '*.jwtSecret', '*.publishToken', '*.longPollSecret'], censor: '[redacted]' },
    },
    format === 'pretty' ? prettyLines(out, out.isTTY === true) : out,
  );
}

const LEVEL_NAMES: Record<number, [string, Parameters<typeof styleText>[0]]> = {
  10: ['TRACE', 'gray'],
  20: ['DEBUG', 'blue'],
  30: ['INFO ', 'green'],
  40: ['WARN ', 'yellow'],
  50: ['ERROR', 'red'],
  60: ['FATAL', 'magenta'],
};
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component']);

/** `12:00:01.234 INFO  connection opened id=c1 vsn=2` for people; the JSON line is parsed once per line. */
export function prettyLines(out: DestinationStream, color: boolean): DestinationStream {
  const paint = (style: Parameters<typeof styleText>[0], text: string) => (color ? styleText(style, text) : text);
  return {
    write(line: string) {
      const record = JSON.parse(line) as Record<string, unknown>;
      const time = new Date(record.time as number);
      const clock = `${time.toTimeString().slice(0, 8)}.${String(time.getMilliseconds()).padStart(3, '0')}`;
      const [name, style] = LEVEL_NAMES[record.level as number] ?? [String(record.level), 'white'];
      const fields = Object.entries(record)
        .filter(([key]) => !OMITTED.has(key))
        .map(([key, value]) => `${key}=${key === 'err' ? (value as { message?: string }).message : typeof value === 'string' ? value : JSON.stringify(value)}`);
      out.write(`${paint('dim', clock)} ${paint(style, name)} ${String(record.msg ?? '')}${fields.length ? ` ${paint('dim', fields.join(' '))}` : ''}\n`);
    },
  };
}

/**
 * Connection lifecycle at info, refusals and slow consumers at warn, server errors at error; joins and leaves
 * at debug; frames, heartbeats and handler timings at trace. A hook whose level is disabled is left out, so the
 * server does not call it at all. The level is read once: attach a new observer after changing it.
 */
export interface LoggingObserverOptions {
  /** Errors of one kind are written once per interval with a count (`RepeatedErrorLog`). Default 10 s. */
  errorIntervalMs?: number;
  /** Timers for those intervals; default unref'd system timers. */
  timers?: RepeatedErrorLogOptions['timers'];
}

export function loggingObserver(logger: Logger, options: LoggingObserverOptions = {}): ServerObserver {
  const log = logger.child({ component: 'server' });
  const on = (level: LogLevel) => log.isLevelEnabled(level);
  const observer: ServerObserver = {};
  if (on('error')) {
    const errors = new RepeatedErrorLog({
      intervalMs: options.errorIntervalMs,
      timers: options.timers,
      write: ({ err, context, repeated, intervalMs }) => {
        if (repeated === 0) log.error({ err, context }, 'server error');
        else log.error({ err, context, repeated, intervalMs }, `server error repeated: ${repeated} more like it in the last ${intervalMs / 1000} s`);
      },
    });
    observer.error = (err, context) => errors.report(err, context);
  }
  if (on('warn')) {
    observer.connectionRejected = (info) => log.warn(info, 'connection rejected');
    observer.slowConsumer = (info) => log.warn(info, 'slow consumer disconnected');
  }
  if (on('info')) {
    observer.connectionOpened = (info) => log.info(info, 'connection opened');
    observer.connectionClosed = (info) => log.info(info, 'connection closed');
    observer.joinRejected = (info) => log.info(info, 'join rejected');
    observer.idleTimeout = (info) => log.info(info, 'idle timeout');
  }
  if (on('debug')) {
    observer.channelJoined = (info) => log.debug(info, 'channel joined');
    observer.channelLeft = (info) => log.debug(info, 'channel left');
  }
  if (on('trace')) {
    observer.frameIn = (info) => log.trace(info, 'frame in');
    observer.frameOut = (bytes, frames) => log.trace({ bytes, frames }, 'frames out');
    observer.handled = (info) => log.trace(info, 'handled');
    observer.broadcast = (info) => log.trace(info, 'broadcast');
    observer.heartbeat = (info) => log.trace(info, 'heartbeat');
  }
  return observer;
}
