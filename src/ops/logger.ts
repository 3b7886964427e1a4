/**
 * Structured logging through pino, and a ServerObserver that writes the server's events to it. The observer
 * implements the per-frame hooks only when `trace` is enabled: the server skips a hook no observer
 * implements, so at the default level logging costs nothing per message.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { ServerObserver } from '../server/observer.ts';
import type { LogLevel } from './config.ts';

export type { Logger };

export interface LoggerOptions {
  level: LogLevel;
  /** Where JSON lines go; default stdout. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: 'tether',
      level: options.level,
      // Never write a credential, even if a caller logs a whole params or config object.
      redact: { paths: ['token', 'adminToken', '*.token', '*.adminToken', 'params.token'], censor: '[redacted]' },
    },
    options.destination,
  );
}

/**
 * Connection lifecycle at info, refusals and slow consumers at warn, server errors at error; joins and leaves
 * at debug; frames, heartbeats and handler timings at trace. A hook whose level is disabled is left out, so the
 * server does not call it at all. The level is read once: attach a new observer after changing it.
 */
export function loggingObserver(logger: Logger): ServerObserver {
  const log = logger.child({ component: 'server' });
  const on = (level: LogLevel) => log.isLevelEnabled(level);
  const observer: ServerObserver = {};
  if (on('error')) observer.error = (err, context) => log.error({ err, context }, 'server error');
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
