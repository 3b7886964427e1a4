/** Command-line flags of `npm run bench` (documented in docs/benchmarks.md). */
import { basename, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { TARGET_KINDS, type TargetKind } from './messages.ts';
import { MAX_SERVER_CONNECTIONS } from './limits.ts';

export const WORKLOADS = ['capacity', 'fanout', 'reqreply', 'churn', 'hold', 'tasks', 'longpoll'] as const;
export type Workload = (typeof WORKLOADS)[number];
/** `hold` (many server processes, ~1 min per target at 50,000), `tasks` and `longpoll` (Tether only) run only when named in --only. */
const DEFAULT_WORKLOADS: Workload[] = ['capacity', 'fanout', 'reqreply', 'churn'];

export interface Options {
  mode: 'full' | 'quick' | 'tiny';
  workloads: Workload[];
  targets: TargetKind[];
  /** Idle joined connections held, ascending; levels above the fd limit are capped and say so. */
  capacity: number[];
  fanoutSubscribers: number[];
  /** Offered deliveries per second (publishes/s = this / subscribers). */
  fanoutRates: number[];
  stepMs: number;
  bodyBytes: number;
  /**
   * permessage-deflate on in every target and client (Tether `compression: true`, ws and Socket.IO
   * `perMessageDeflate: true`) and a compressible body (2048 bytes unless --body-bytes).
   */
  compression: boolean;
  reqreplyClients: number;
  reqreplyMs: number;
  /** Each fan-out step is repeated this often, targets in turn; the median is reported. */
  rounds: number;
  /** Request/reply runs per target, targets in turn; the median is reported. */
  reqreplyRounds: number;
  churnCycles: number;
  churnConcurrency: number;
  /** Idle joined connections held by the `hold` workload, spread over as many server processes as it takes. */
  hold: number;
  /** Most connections one server process (and one load worker) of `hold` takes; below the fd limit. */
  holdPerProcess: number;
  workers: number;
  /** Tasks workload: watchers of one queue, progress reports per second, tasks they are spread over, duration. */
  tasksWatchers: number;
  tasksRate: number;
  tasksCount: number;
  tasksMs: number;
  outDir: string;
  /** Results file name without extension (`<outDir>/<outName>.md` and `.json`); the run's date by default. */
  outName?: string;
  cpuProfile: boolean;
  /** Write a heap snapshot of each target at the largest capacity level held (into <out>/profiles/). */
  heapSnapshot: boolean;
}

/** Above the 1024-byte threshold of every target, so messages are compressed. */
const COMPRESSED_BODY_BYTES = 2048;

const PRESETS: Record<Options['mode'], Omit<Options, 'mode' | 'workloads' | 'targets' | 'compression' | 'outDir' | 'outName' | 'cpuProfile' | 'heapSnapshot' | 'holdPerProcess'>> = {
  full: {
    capacity: [1_000, 10_000, 20_000, 50_000],
    fanoutSubscribers: [1_000, 5_000],
    fanoutRates: [10_000, 25_000, 50_000],
    stepMs: 1_500,
    bodyBytes: 48,
    reqreplyClients: 100,
    reqreplyMs: 2_000,
    rounds: 3,
    reqreplyRounds: 5,
    churnCycles: 100_000,
    churnConcurrency: 32,
    hold: 50_000,
    workers: 2,
    tasksWatchers: 1_000, tasksRate: 10_000, tasksCount: 10, tasksMs: 3_000,
  },
  quick: {
    capacity: [1_000, 5_000],
    fanoutSubscribers: [1_000],
    fanoutRates: [10_000, 50_000],
    stepMs: 2_000,
    bodyBytes: 48,
    reqreplyClients: 100,
    reqreplyMs: 2_000,
    rounds: 1,
    reqreplyRounds: 1,
    churnCycles: 5_000,
    churnConcurrency: 32,
    hold: 50_000,
    workers: 2,
    tasksWatchers: 1_000, tasksRate: 10_000, tasksCount: 10, tasksMs: 2_000,
  },
  tiny: {
    capacity: [50],
    fanoutSubscribers: [50],
    fanoutRates: [1_000],
    stepMs: 600,
    bodyBytes: 48,
    reqreplyClients: 10,
    reqreplyMs: 500,
    rounds: 1,
    reqreplyRounds: 1,
    churnCycles: 100,
    churnConcurrency: 8,
    hold: 100,
    workers: 1,
    tasksWatchers: 50, tasksRate: 1_000, tasksCount: 20, tasksMs: 1_000,
  },
};

const USAGE = `usage: npm run bench -- [--quick | --tiny] [--only capacity,fanout,reqreply,churn] [--targets ws,socketio,tether]
  [--capacity 1000,10000] [--subscribers 1000,5000] [--rates 10000,50000] [--step-ms 3000] [--compression] [--body-bytes 2048]
  [--clients 100] [--reqreply-ms 2000] [--rounds 3] [--reqreply-rounds 5] [--cycles 100000] [--workers 2] [--out DIR|FILE.md] [--cpu-prof] [--heap-snapshot]
  [--only hold] [--hold 50000] [--hold-per-process ${MAX_SERVER_CONNECTIONS}]   (hold: clustered capacity, opt-in)
  [--only tasks] [--watchers 1000] [--tasks-rate 10000] [--tasks 10] [--tasks-ms 3000]   (tasks: Tether's task hub, opt-in)
  [--only longpoll] [--clients 50] [--subscribers 200] [--rates 10000] [--reqreply-ms 2000]   (long-poll next to WebSocket, Tether only, opt-in)`;

function list(value: string | undefined): string[] | undefined {
  return value?.split(',').map((s) => s.trim()).filter(Boolean);
}

function numbers(value: string | undefined, flag: string): number[] | undefined {
  const parts = list(value);
  if (!parts) return undefined;
  return parts.map((p) => {
    const n = Number(p.replace(/_/g, ''));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag}: "${p}" is not a positive integer\n${USAGE}`);
    return n;
  });
}

function oneOf<T extends string>(values: string[] | undefined, allowed: readonly T[], flag: string): T[] | undefined {
  for (const v of values ?? []) {
    if (!allowed.includes(v as T)) throw new Error(`--${flag}: "${v}" is not one of ${allowed.join(', ')}\n${USAGE}`);
  }
  return values as T[] | undefined;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      tiny: { type: 'boolean' },
      only: { type: 'string' },
      targets: { type: 'string' },
      capacity: { type: 'string' },
      subscribers: { type: 'string' },
      rates: { type: 'string' },
      'step-ms': { type: 'string' },
      compression: { type: 'boolean' },
      'body-bytes': { type: 'string' },
      clients: { type: 'string' },
      'reqreply-ms': { type: 'string' },
      rounds: { type: 'string' },
      'reqreply-rounds': { type: 'string' },
      cycles: { type: 'string' },
      hold: { type: 'string' },
      'hold-per-process': { type: 'string' },
      workers: { type: 'string' },
      watchers: { type: 'string' },
      'tasks-rate': { type: 'string' },
      tasks: { type: 'string' },
      'tasks-ms': { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'heap-snapshot': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const mode = values.tiny ? 'tiny' : values.quick ? 'quick' : 'full';
  const preset = PRESETS[mode];
  const single = (v: string | undefined, flag: string): number | undefined => numbers(v, flag)?.[0];
  return {
    mode,
    workloads: oneOf(list(values.only), WORKLOADS, 'only') ?? DEFAULT_WORKLOADS,
    targets: oneOf(list(values.targets), TARGET_KINDS, 'targets') ?? [...TARGET_KINDS],
    capacity: numbers(values.capacity, 'capacity') ?? preset.capacity,
    fanoutSubscribers: numbers(values.subscribers, 'subscribers') ?? preset.fanoutSubscribers,
    fanoutRates: numbers(values.rates, 'rates') ?? preset.fanoutRates,
    stepMs: single(values['step-ms'], 'step-ms') ?? preset.stepMs,
    bodyBytes: single(values['body-bytes'], 'body-bytes') ?? (values.compression ? COMPRESSED_BODY_BYTES : preset.bodyBytes),
    compression: values.compression ?? false,
    reqreplyClients: single(values.clients, 'clients') ?? preset.reqreplyClients,
    reqreplyMs: single(values['reqreply-ms'], 'reqreply-ms') ?? preset.reqreplyMs,
    rounds: single(values.rounds, 'rounds') ?? preset.rounds,
    reqreplyRounds: single(values['reqreply-rounds'], 'reqreply-rounds') ?? preset.reqreplyRounds,
    churnCycles: single(values.cycles, 'cycles') ?? preset.churnCycles,
    churnConcurrency: preset.churnConcurrency,
    hold: single(values.hold, 'hold') ?? preset.hold,
    holdPerProcess: Math.min(single(values['hold-per-process'], 'hold-per-process') ?? MAX_SERVER_CONNECTIONS, MAX_SERVER_CONNECTIONS),
    workers: single(values.workers, 'workers') ?? preset.workers,
    tasksWatchers: single(values.watchers, 'watchers') ?? preset.tasksWatchers,
    tasksRate: single(values['tasks-rate'], 'tasks-rate') ?? preset.tasksRate,
    tasksCount: single(values.tasks, 'tasks') ?? preset.tasksCount,
    tasksMs: single(values['tasks-ms'], 'tasks-ms') ?? preset.tasksMs,
    outDir: values.out?.endsWith('.md') ? dirname(values.out) : (values.out ?? new URL('../results/', import.meta.url).pathname),
    outName: values.out?.endsWith('.md') ? basename(values.out, '.md') : undefined,
    cpuProfile: values['cpu-prof'] ?? false,
    heapSnapshot: values['heap-snapshot'] ?? false,
  };
}
