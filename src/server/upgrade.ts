/** Pure checks on a WebSocket upgrade request, made before any upgrade so a refusal is a plain HTTP status. */

const AUTH_TOKEN_PREFIX = 'base64url.bearer.phx.';

/** The query parameters as a null-prototype object: a client may name a parameter `__proto__` or `constructor`. */
export function parseQuery(search: string): Record<string, string> {
  const params = Object.create(null) as Record<string, string>;
  for (const [key, value] of new URLSearchParams(search)) params[key] = value;
  return params;
}

export interface OfferedProtocols {
  /** Decoded Phoenix authToken, or null when none was offered. */
  authToken: string | null;
  /** The subprotocol to echo: phoenix.js offers `phoenix` beside the token and needs it back. */
  echo: string | null;
}

/** Reads Phoenix's authToken from `Sec-WebSocket-Protocol` (`phoenix, base64url.bearer.phx.<base64>`). */
export function readProtocols(header: string | undefined): OfferedProtocols {
  if (!header) return { authToken: null, echo: null };
  let authToken: string | null = null;
  let echo: string | null = null;
  for (const raw of header.split(',')) {
    const protocol = raw.trim();
    if (protocol === 'phoenix') echo = protocol;
    else if (protocol.startsWith(AUTH_TOKEN_PREFIX)) {
      // phoenix.js writes standard base64 without padding despite the name; Buffer accepts both alphabets.
      authToken = Buffer.from(protocol.slice(AUTH_TOKEN_PREFIX.length), 'base64').toString('utf8');
    }
  }
  return { authToken, echo };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

interface OriginRule {
  scheme: string | null;
  /** Exact host, or `.example.com` for a `*.example.com` wildcard (subdomains only). */
  host: string;
  wildcard: boolean;
  port: string | null;
}

function parseRule(entry: string): OriginRule {
  const schemeEnd = entry.indexOf('://');
  const scheme = schemeEnd >= 0 ? entry.slice(0, schemeEnd).toLowerCase() : null;
  const rest = (schemeEnd >= 0 ? entry.slice(schemeEnd + 3) : entry.replace(/^\/\//, '')).toLowerCase();
  const colon = rest.lastIndexOf(':');
  const hasPort = colon > 0 && /^\d+$/.test(rest.slice(colon + 1));
  const host = hasPort ? rest.slice(0, colon) : rest;
  const wildcard = host.startsWith('*.');
  return { scheme, host: wildcard ? host.slice(1) : host, wildcard, port: hasPort ? rest.slice(colon + 1) : null };
}

/** A compiled origin policy: `check(origin, hostHeader)`. */
export class OriginPolicy {
  readonly #rules: OriginRule[] | null;
  readonly #sameHost: boolean;

  /** `null` rules = same-host rule; `false` = no check. */
  constructor(allowed: readonly string[] | null | false) {
    this.#sameHost = allowed === null;
    this.#rules = allowed ? allowed.map(parseRule) : null;
  }

  static off(): OriginPolicy {
    return new OriginPolicy(false);
  }

  allows(origin: string | undefined, hostHeader: string | undefined): boolean {
    if (origin === undefined || (this.#rules === null && !this.#sameHost)) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    const host = url.hostname.toLowerCase();
    if (this.#sameHost) {
      if (hostHeader === undefined) return false;
      try {
        return new URL(`http://${hostHeader}`).hostname.toLowerCase() === host;
      } catch {
        return false;
      }
    }
    const scheme = url.protocol.slice(0, -1);
    const port = url.port || (scheme === 'https' ? '443' : '80');
    return this.#rules!.some(
      (r) =>
        (r.scheme === null || r.scheme === scheme) &&
        (r.port === null || r.port === port) &&
        (r.wildcard ? host.endsWith(r.host) && host.length > r.host.length : host === r.host),
    );
  }
}
