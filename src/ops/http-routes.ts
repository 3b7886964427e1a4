/**
 * The operational HTTP endpoints of `tether serve`: `/healthz` (the process answers), `/readyz` (the broker is
 * connected and the server is not draining), `/metrics` (Prometheus) and the dashboard at `/`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerOf, tokenMatches } from '../server/token-check.ts';
import type { AdminAccess } from './admin-channel.ts';
import type { WorkerInfo } from '../dashboard/feed.ts';

export interface Readiness {
  ready: boolean;
  broker: boolean;
  draining: boolean;
  /** With `tether serve --workers`: the worker that answered (its node id). */
  node?: string;
  /** With `--workers`: the machine's workers that are up and ready, as the primary last listed them (every second). */
  workers?: WorkerInfo[];
  /** With `--workers`: how many workers the primary runs when all are up (`--workers N`, or the cores for `auto`). */
  workersWanted?: number;
}

export interface DashboardRoute {
  access: AdminAccess;
  /** The page HTML; served only to requests that pass `access`. */
  page(): string;
  script(): Promise<string>;
}

export interface OpsRoutesOptions {
  readiness(): Readiness;
  /**
   * Prometheus exposition and its content type; omitted -> no /metrics route. With `token`, a request must
   * carry `Authorization: Bearer <token>` (Prometheus: `authorization: { credentials: <token> }`) or gets 401.
   */
  metrics?: { contentType: string; exposition(): Promise<string>; token?: string };
  dashboard?: DashboardRoute;
  onError?: (err: Error) => void;
}

/** Returns a request listener step: true when it answered the request, false to let the next handler try. */
export function createOpsRoutes(options: OpsRoutesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/healthz':
        send(res, 200, 'application/json', '{"status":"ok"}');
        return true;
      case '/readyz': {
        const readiness = options.readiness();
        send(res, readiness.ready ? 200 : 503, 'application/json', JSON.stringify(readiness));
        return true;
      }
      case '/metrics':
        if (!options.metrics) return false;
        if (options.metrics.token !== undefined && !tokenMatches(options.metrics.token, bearerOf(req))) {
          res.setHeader('www-authenticate', 'Bearer realm="metrics"');
          send(res, 401, 'text/plain; charset=utf-8', 'metrics need the bearer token (metricsToken)\n');
          return true;
        }
        answer(res, options, options.metrics.exposition(), options.metrics.contentType);
        return true;
      case '/':
      case '/dashboard':
        if (!options.dashboard) return false;
        if (!authorized(options.dashboard.access, req, url)) {
          send(res, 401, 'text/html; charset=utf-8', LOGIN_PAGE);
          return true;
        }
        res.setHeader('cache-control', 'no-store');
        res.setHeader('content-security-policy', DASHBOARD_CSP);
        send(res, 200, 'text/html; charset=utf-8', options.dashboard.page());
        return true;
      case '/favicon.svg':
        if (!options.dashboard) return false;
        send(res, 200, 'image/svg+xml', FAVICON);
        return true;
      case '/dashboard.js':
        if (!options.dashboard) return false;
        answer(res, options, options.dashboard.script(), 'text/javascript; charset=utf-8');
        return true;
      default:
        return false;
    }
  };
}

function authorized(access: AdminAccess, req: IncomingMessage, url: URL): boolean {
  if (access.open) return true;
  return tokenMatches(access.token, bearerOf(req) ?? url.searchParams.get('token'));
}

function answer(res: ServerResponse, options: OpsRoutesOptions, body: Promise<string>, type: string): void {
  body.then(
    (text) => send(res, 200, type, text),
    (err: Error) => {
      options.onError?.(err);
      send(res, 500, 'text/plain; charset=utf-8', `${err.message}\n`);
    },
  );
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g fill="#4c9aff" stroke="#4c9aff"><circle cx="6" cy="12" r="3.2"/><circle cx="18" cy="12" r="3.2"/><path d="M9.2 12h5.6" stroke-width="2.2"/></g></svg>';

/** The page loads nothing but its own script and talks to nothing but this server. */
const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tether dashboard: sign in</title>
<style>body{font:15px system-ui,sans-serif;background:#0f1419;color:#d6dde6;display:grid;place-items:center;height:100vh;margin:0}
form{background:#182029;padding:28px 32px;border-radius:10px;border:1px solid #263240}h1{font-size:18px;margin:0 0 14px}
input{font:inherit;padding:8px 10px;border-radius:6px;border:1px solid #34424f;background:#0f1419;color:inherit;width:260px}
button{font:inherit;margin-left:8px;padding:8px 14px;border-radius:6px;border:0;background:#3d8bfd;color:#fff}</style></head>
<body><form method="get" action="/"><h1>Tether dashboard</h1><p>This server requires its admin token.</p>
<input type="password" name="token" placeholder="admin token" autofocus><button>Open</button></form></body></html>`;
