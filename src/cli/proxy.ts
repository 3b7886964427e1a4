/**
 * `tether proxy LISTEN TARGET`: a faulty TCP link between any WebSocket client and server (src/testing's
 * FaultyLink), driven by a schedule (`--script`), a starting mode (`--mode`) or modes typed on stdin.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { FAULTY_LINK_DEFAULTS, FaultyLink } from '../testing/faulty-link.ts';
import { formatLinkMode, LinkScriptError, parseLinkMode, parseLinkScript, type LinkMode, type LinkSchedule } from '../testing/link-mode.ts';

export interface ProxyFlags {
  script?: string;
  mode?: string;
  maxHeldBytes?: string;
  maxConnections?: string;
  quiet?: boolean;
}

/** A bad argument: the CLI prints its one-line message and exits 2. */
export class ProxyUsageError extends Error {
  override readonly name = 'ProxyUsageError';
  readonly exitCode = 2;
}

/** `PORT` or `HOST:PORT` (`[::1]:PORT` for IPv6). */
export function parseListen(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(i === -1 ? text : text.slice(i + 1));
  const host = i === -1 ? '127.0.0.1' : text.slice(0, i).replace(/^\[|\]$/g, '');
  if (!Number.isInteger(port) || port < 0 || port > 65535 || host === '') throw new ProxyUsageError(`LISTEN "${text}" must be PORT or HOST:PORT`);
  return { host, port };
}

function positiveInt(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new ProxyUsageError(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

/** Every argument checked before anything listens, so a bad one exits 2 with one line. */
export function prepareProxy(listen: string, target: string, flags: ProxyFlags): { link: FaultyLink; schedule: LinkSchedule | null; mode: LinkMode | null } {
  const at = parseListen(listen);
  let schedule: LinkSchedule | null = null;
  let mode: LinkMode | null = null;
  try {
    if (flags.script !== undefined) schedule = parseLinkScript(flags.script);
    if (flags.mode !== undefined) mode = parseLinkMode(flags.mode);
  } catch (err) {
    if (err instanceof LinkScriptError) throw new ProxyUsageError(`bad ${flags.script !== undefined && schedule === null ? '--script' : '--mode'}: ${err.message}`);
    throw err;
  }
  let link: FaultyLink;
  try {
    link = new FaultyLink({
      target,
      host: at.host,
      port: at.port,
      mode: mode ?? undefined,
      script: schedule ?? undefined,
      maxHeldBytes: positiveInt(flags.maxHeldBytes, '--max-held-bytes', FAULTY_LINK_DEFAULTS.maxHeldBytes),
      maxConnections: positiveInt(flags.maxConnections, '--max-connections', FAULTY_LINK_DEFAULTS.maxConnections),
    });
  } catch (err) {
    if (err instanceof TypeError) throw new ProxyUsageError(`TARGET: ${err.message}`);
    throw err;
  }
  return { link, schedule, mode };
}

export async function runProxy(listen: string, target: string, flags: ProxyFlags, out: NodeJS.WritableStream = process.stdout): Promise<FaultyLink> {
  const { link } = prepareProxy(listen, target, flags);
  const started = Date.now();
  const log = (line: string) => out.write(`[+${((Date.now() - started) / 1000).toFixed(3)}s] ${line}\n`);
  link.on('mode', ({ mode, step }) => log(`mode ${formatLinkMode(mode)}${step === null ? '' : ` (step ${step + 1})`}`));
  link.on('schedule-end', ({ mode }) => log(`schedule done; ${formatLinkMode(mode)} stays in force`));
  link.on('capped', ({ id, direction, bytes }) => log(`connection ${id}: ${bytes} bytes held ${direction === 'up' ? 'client->server' : 'server->client'}; reading paused`));
  link.on('refused', ({ reason }) => log(`connection refused: ${reason}`));
  link.on('server-error', ({ error }) => log(`listening socket error: ${error.message}`));
  if (!flags.quiet) {
    link.on('connection', ({ id }) => log(`connection ${id} open (${link.connections} now)`));
    link.on('disconnect', ({ id }) => log(`connection ${id} closed (${link.connections} now)`));
  }
  await link.listen();
  const { host, port } = link.target;
  out.write(
    `tether proxy listening on ${link.host}:${link.port} -> ${host}:${port}\n` +
      `  clients connect to ${link.url()} (any path is passed through)\n` +
      `  mode ${formatLinkMode(link.mode)}; type a mode and Enter to switch (ok, blackhole, reset, half-open, latency=200ms~50ms, bandwidth=64KiB/s, heal)\n`,
  );
  return link;
}

export function register(program: Command): void {
  program
    .command('proxy')
    .description('a faulty TCP link between any WebSocket client and server: latency, bandwidth, blackhole, reset, half-open, on a schedule')
    .argument('<listen>', 'PORT or HOST:PORT to listen on (HOST defaults to 127.0.0.1)')
    .argument('<target>', 'the server: PORT, HOST:PORT or a ws:// URL')
    .option('--script <steps>', 'a schedule, e.g. "5s ok; 3s blackhole; 2s latency=200ms; heal" (the last mode stays)')
    .option('--mode <mode>', 'the mode at start (default ok)')
    .option('--max-held-bytes <n>', `bytes held per connection and direction before the link stops reading that side (default ${FAULTY_LINK_DEFAULTS.maxHeldBytes})`)
    .option('--max-connections <n>', `connections at once; more get a TCP RST (default ${FAULTY_LINK_DEFAULTS.maxConnections})`)
    .option('--quiet', 'do not print each connection', false)
    .addHelpText('after', '\nexit codes: 0 stopped by SIGINT/SIGTERM, 1 failed (e.g. the port is taken), 2 usage (bad script, mode or address)')
    .action(async (listen: string, target: string, flags: ProxyFlags) => {
      // Stopping is wired before the "listening" line is printed: a SIGTERM right after it must still exit 0.
      let stopped: (() => void) | null = null;
      const stop = () => (stopped ? stopped() : process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const link = await runProxy(listen, target, flags);
      const input = createInterface({ input: process.stdin, terminal: false });
      input.on('line', (line) => {
        const text = line.trim();
        if (text === '') return;
        try {
          link.set(text);
        } catch (err) {
          process.stderr.write(`${(err as Error).message}\n`);
        }
      });
      stopped = () => {
        input.close();
        void link.close().then(() => process.exit(0));
      };
    });
}
