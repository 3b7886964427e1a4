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
/** An IPv4 literal in 127.0.0.0/8. A name that merely starts with `127.` (`127.0.0.1.evil.example`) is not one. */
const IPV4_LOOPBACK = /^127(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A loopback name or address: `localhost`, `::1`, or an IPv4 address in 127.0.0.0/8. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || IPV4_LOOPBACK.test(host);
}

/** The lower-cased hostname of a Host header (`[::1]:4000` -> `::1`), or null when it does not parse. */
function hostOfHeader(hostHeader: string | undefined): string | null {
  if (hostHeader === undefined) return null;
  try {
    return unbracket(new URL(`http://${hostHeader}`).hostname.toLowerCase());
  } catch {
    return null;
  }
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function defaultPort(scheme: string): string {
  return scheme === 'https' || scheme === 'wss' ? '443' : '80';
}

/**
 * True when the page that opened the socket was served by this very host and port: the Origin's host and port
 * equal the Host header's (the scheme cannot be compared here; TLS ends before the core). False without Origin.
 */
export function isSameOrigin(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined || hostHeader === undefined) return false;
  try {
    const o = new URL(origin);
    const scheme = o.protocol.slice(0, -1);
    const h = new URL(`${scheme}://${hostHeader}`);
    return o.hostname.toLowerCase() === h.hostname.toLowerCase() && (o.port || defaultPort(scheme)) === (h.port || defaultPort(scheme));
  } catch {
    return false;
  }
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

/**
 * A compiled origin policy: `allows(origin, hostHeader)`. A request without Origin (not a browser) is always
 * allowed; the modes differ on browser pages:
 *   - list (`allowedOrigins`): the Origin must match a rule;
 *   - sameHost (the default beyond loopback): the Origin's host must be the Host header's;
 *   - loopback (the default on a loopback bind): the Origin must be a loopback origin (localhost, an address in
 *     127.0.0.0/8, [::1], any port: a dev server on another port is normal) AND the Host header a loopback name, which refuses
 *     DNS rebinding (a page of evil.example re-pointed at 127.0.0.1 sends Host evil.example);
 *   - off (`allowedOrigins: false`).
 */
export class OriginPolicy {
  readonly #rules: OriginRule[] | null;
  readonly #mode: 'list' | 'sameHost' | 'loopback' | 'off';

  /** `null` rules = same-host rule; `false` = no check. */
  constructor(allowed: readonly string[] | null | false, loopback = false) {
    this.#mode = loopback ? 'loopback' : allowed === null ? 'sameHost' : allowed === false ? 'off' : 'list';
    this.#rules = allowed ? allowed.map(parseRule) : null;
  }

  static off(): OriginPolicy {
    return new OriginPolicy(false);
  }

  static loopback(): OriginPolicy {
    return new OriginPolicy(null, true);
  }

  allows(origin: string | undefined, hostHeader: string | undefined): boolean {
    if (origin === undefined || this.#mode === 'off') return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    const host = url.hostname.toLowerCase();
    if (this.#mode === 'loopback') {
      const hostName = hostOfHeader(hostHeader);
      return isLoopbackHost(unbracket(host)) && hostName !== null && isLoopbackHost(hostName);
    }
    if (this.#mode === 'sameHost') return hostOfHeader(hostHeader) === unbracket(host);
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
