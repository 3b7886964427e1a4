/** Result tables: one per workload, a row per (scenario, metric), each with Tether's ratio to both baselines. */
import { cpus, loadavg } from 'node:os';
import type { TargetKind } from './messages.ts';

export interface Row {
  scenario: string;
  metric: string;
  values: Partial<Record<TargetKind, number>>;
  /** Per-target remark, e.g. why a value is missing. */
  notes?: Partial<Record<TargetKind, string>>;
}

export interface Table {
  workload: string;
  title: string;
  rows: Row[];
  /** Lines printed under the table (what was measured, caveats). */
  footnotes: string[];
}

export function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 100_000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(2);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b)) return '—';
  if (b === 0) return a === 0 ? '—' : '∞';
  return `${(a / b).toFixed(2)}x`;
}

function cell(row: Row, kind: TargetKind): string {
  const note = row.notes?.[kind];
  const value = formatNumber(row.values[kind]);
  return note ? `${value} (${note})` : value;
}

const HEADER = ['scenario', 'metric', 'raw ws', 'Socket.IO', 'Tether', 'Tether/ws', 'Tether/Socket.IO'];

function cells(row: Row): string[] {
  const v = row.values;
  return [row.scenario, row.metric, cell(row, 'ws'), cell(row, 'socketio'), cell(row, 'tether'), ratio(v.tether, v.ws), ratio(v.tether, v.socketio)];
}

export function toMarkdown(table: Table): string {
  const lines = [`### ${table.title}`, '', `| ${HEADER.join(' | ')} |`, `|${HEADER.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const row of table.rows) lines.push(`| ${cells(row).join(' | ')} |`);
  if (table.footnotes.length) lines.push('', ...table.footnotes.map((f) => `- ${f}`));
  return lines.join('\n');
}

export function toConsole(table: Table): string {
  const grid = [HEADER, ...table.rows.map(cells)];
  const widths = HEADER.map((_, c) => Math.max(...grid.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((s, c) => (c < 2 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
  return [`== ${table.title}`, line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...grid.slice(1).map(line), ...table.footnotes.map((f) => `  * ${f}`)].join('\n');
}

/** One-minute load average, to judge how much the shared machine's other work may have skewed a run. */
export function load(): string {
  return loadavg()[0].toFixed(2);
}

export function environment(loadAtStart: string): string[] {
  const loadAtEnd = load();
  const busy = Math.max(Number(loadAtStart), Number(loadAtEnd)) > cpus().length;
  return [
    `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}`,
    `load average (1 min) ${loadAtStart} at the start, ${loadAtEnd} at the end` +
      (busy ? ': above the core count, so other work on the machine competed with the bench (latency most affected)' : ''),
    'targets and load workers are separate processes on loopback; server RSS and CPU read from /proc',
  ];
}
