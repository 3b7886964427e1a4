/**
 * The fault table: one row per scenario run. Each test file prints its own rows when it ends; with
 * FAULT_RESULTS set (as `npm run test:faults` does) rows are also appended there so the runner can print
 * the whole suite's table at the end.
 */
import { appendFileSync } from 'node:fs';

export interface FaultRow {
  scenario: string;
  sent: number;
  received: number;
  duplicates: number;
  lost: number;
  /** Milliseconds from the fault to full recovery; null when not applicable. */
  recoverMs: number | null;
  note: string;
}

/**
 * `skip` for scenarios that exist to print figures and take tens of seconds: they run under
 * `npm run test:faults` (which sets FAULT_RESULTS) and are skipped by a plain `npm test`.
 */
export const FIGURES_ONLY: string | false = process.env.FAULT_RESULTS === undefined ? 'prints figures: run it with npm run test:faults' : false;

const HEADERS = ['scenario', 'sent', 'received', 'duplicates', 'lost', 'time to recover', 'note'] as const;

function cells(row: FaultRow): string[] {
  return [
    row.scenario,
    String(row.sent),
    String(row.received),
    String(row.duplicates),
    String(row.lost),
    row.recoverMs === null ? '-' : `${(row.recoverMs / 1000).toFixed(2)} s`,
    row.note,
  ];
}

/** A Markdown table (pasteable into docs/recovery.md) of the given rows. */
export function formatTable(rows: readonly FaultRow[]): string {
  const body = rows.map(cells);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(HEADERS), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export class FaultTable {
  readonly rows: FaultRow[] = [];

  add(row: FaultRow): void {
    this.rows.push(row);
    const file = process.env.FAULT_RESULTS;
    if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
  }

  print(): void {
    if (this.rows.length > 0) console.log(`\n${formatTable(this.rows)}\n`);
  }
}

/** Counts duplicates and losses of a received sequence against the expected ids 1..sent. */
export function account(sent: number, received: readonly number[]): { unique: number; duplicates: number; lost: number; inOrder: boolean } {
  const seen = new Uint8Array(sent + 1);
  let duplicates = 0;
  let unique = 0;
  let inOrder = true;
  let prev = 0;
  for (const n of received) {
    if (n <= prev) inOrder = false;
    prev = Math.max(prev, n);
    if (n < 1 || n > sent) continue;
    if (seen[n]) duplicates++;
    else {
      seen[n] = 1;
      unique++;
    }
  }
  return { unique, duplicates, lost: sent - unique, inOrder };
}
