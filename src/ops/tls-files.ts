/** The TLS files of `tether serve` (`tlsCert`, `tlsKey`, `tlsCa`), read before the server listens. */
import { readFile } from 'node:fs/promises';
import type { ServerTlsOptions } from '../server/options.ts';
import { ConfigError, type ConfigIssue } from './config-load.ts';
import { ENV_VARS, flagName, type ServeConfig } from './config.ts';

type TlsKey = 'tlsCert' | 'tlsKey' | 'tlsCa';

/** The flag and the variable: either may have set the path. */
const named = (key: TlsKey) => `${flagName(key)} (${ENV_VARS[key]})`;

/**
 * The certificate, key and CA as createServer's `tls` option, or undefined when `tlsCert` is not set. A key
 * without a certificate (or the reverse), or a file that cannot be read, is a ConfigError naming the flag.
 * Relative paths are read from the working directory.
 */
export async function readTlsFiles(config: ServeConfig): Promise<ServerTlsOptions | undefined> {
  const issues: ConfigIssue[] = [];
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined) || (config.tlsCa !== undefined && config.tlsCert === undefined)) {
    issues.push({ source: 'resolved', key: `${flagName('tlsCert')} / ${flagName('tlsKey')}`, message: 'TLS needs both a certificate and its key' });
    throw new ConfigError(issues);
  }
  if (config.tlsCert === undefined) return undefined;
  const read = async (key: TlsKey): Promise<Buffer | undefined> => {
    const path = config[key];
    if (path === undefined) return undefined;
    try {
      const pem = await readFile(path);
      if (!pem.includes('-----BEGIN ')) issues.push({ source: 'resolved', key: named(key), message: `${path} is not a PEM file` });
      return pem;
    } catch (err) {
      issues.push({ source: 'resolved', key: named(key), message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
      return undefined;
    }
  };
  const [cert, key, ca] = await Promise.all([read('tlsCert'), read('tlsKey'), read('tlsCa')]);
  if (issues.length > 0 || cert === undefined || key === undefined) throw new ConfigError(issues);
  return ca === undefined ? { cert, key } : { cert, key, ca };
}
