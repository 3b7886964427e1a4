/**
 * A small time-series line chart drawn on a canvas: nice y ticks, a time axis, a legend, an optional fill
 * under the first series, crisp on high-DPI screens and redrawn on resize.
 */

export interface SeriesStyle {
  name: string;
  color: string;
}

export interface ChartOptions {
  series: SeriesStyle[];
  /** Formats a y value for the axis and the legend. */
  format: (value: number) => string;
  /** Longest window shown, in ms; default 300000 (five minutes). */
  windowMs?: number;
  /** Shortest window shown while there is less data; default 30000. */
  minWindowMs?: number;
  /** Fill the area under the first series. */
  fill?: boolean;
  /** Round ticks in powers of 1024 (for bytes), so the axis reads 16 KiB, 32 KiB rather than 29.3 KiB. */
  binary?: boolean;
}

/** One point in time with one value per series (null = no data). */
export interface ChartPoint {
  t: number;
  values: (number | null)[];
}

const AXIS = '#7d8b99';
const GRID = 'rgba(125, 139, 153, 0.14)';
const FONT = '11px ui-sans-serif, system-ui, -apple-system, "Segoe UI", sans-serif';

export class LineChart {
  readonly #canvas: HTMLCanvasElement;
  readonly #options: Required<ChartOptions>;
  #points: ChartPoint[] = [];
  #now = Date.now();

  constructor(canvas: HTMLCanvasElement, options: ChartOptions) {
    this.#canvas = canvas;
    this.#options = { windowMs: 300_000, minWindowMs: 30_000, fill: false, binary: false, ...options };
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  update(points: ChartPoint[], now: number): void {
    this.#points = points;
    this.#now = now;
    this.draw();
  }

  draw(): void {
    const canvas = this.#canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0 || height === 0) return;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;

    const { series, format, fill } = this.#options;
    const span = this.#points.length > 0 ? this.#now - this.#points[0].t : 0;
    const windowMs = Math.min(this.#options.windowMs, Math.max(this.#options.minWindowMs, span));
    const start = this.#now - windowMs;
    const visible = this.#points.filter((p) => p.t >= start - 2000);
    let max = 0;
    for (const p of visible) for (const v of p.values) if (v !== null && v > max) max = v;
    const ticks = this.#options.binary ? binaryTicks(max) : niceTicks(max);
    const top = ticks[ticks.length - 1];

    const labelWidth = Math.max(...ticks.map((t) => ctx.measureText(format(t)).width)) + 10;
    const plot = { left: labelWidth, right: width - 8, top: 24, bottom: height - 20 };
    const x = (t: number) => plot.left + ((t - start) / windowMs) * (plot.right - plot.left);
    const y = (v: number) => plot.bottom - (top > 0 ? v / top : 0) * (plot.bottom - plot.top);

    // Grid and y labels.
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (const tick of ticks) {
      const ty = Math.round(y(tick)) + 0.5;
      ctx.strokeStyle = GRID;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(plot.left, ty);
      ctx.lineTo(plot.right, ty);
      ctx.stroke();
      ctx.fillStyle = AXIS;
      ctx.fillText(format(tick), plot.left - 6, ty);
    }
    // Time labels relative to now, about five across.
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    const step = [5_000, 10_000, 15_000, 30_000, 60_000, 120_000].find((s) => windowMs / s <= 6) ?? 300_000;
    for (let ago = Math.floor(windowMs / step) * step; ago >= 0; ago -= step) {
      const label = ago === 0 ? 'now' : ago % 60_000 === 0 ? `-${ago / 60_000}m` : `-${ago / 1000}s`;
      ctx.fillText(label, Math.min(Math.max(x(this.#now - ago), plot.left + 12), plot.right - 14), height - 4);
    }

    // Series, last first so the first (primary) series is drawn on top.
    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.left, plot.top - 2, plot.right - plot.left, plot.bottom - plot.top + 4);
    ctx.clip();
    for (let s = series.length - 1; s >= 0; s--) {
      const color = series[s].color;
      const path = new Path2D();
      let first: ChartPoint | undefined;
      let last: ChartPoint | undefined;
      let gap = true;
      for (const p of visible) {
        const v = p.values[s];
        if (v === null || v === undefined) {
          gap = true;
          continue;
        }
        if (gap) path.moveTo(x(p.t), y(v));
        else path.lineTo(x(p.t), y(v));
        gap = false;
        first ??= p;
        last = p;
      }
      if (fill && s === 0 && first && last) {
        const area = new Path2D(path);
        area.lineTo(x(last.t), plot.bottom);
        area.lineTo(x(first.t), plot.bottom);
        area.closePath();
        const gradient = ctx.createLinearGradient(0, plot.top, 0, plot.bottom);
        gradient.addColorStop(0, withAlpha(color, 0.28));
        gradient.addColorStop(1, withAlpha(color, 0.02));
        ctx.fillStyle = gradient;
        ctx.fill(area);
      }
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.75;
      ctx.lineJoin = 'round';
      ctx.stroke(path);
    }
    ctx.restore();

    // Legend with the latest values.
    const latest = visible[visible.length - 1];
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    let lx = plot.left;
    for (let s = 0; s < series.length; s++) {
      const v = latest?.values[s];
      const text = `${series[s].name} ${v === null || v === undefined ? '–' : format(v)}`;
      ctx.fillStyle = series[s].color;
      ctx.beginPath();
      ctx.arc(lx + 4, 10, 3.5, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = '#c5cfd9';
      ctx.fillText(text, lx + 12, 10);
      lx += ctx.measureText(text).width + 28;
    }
  }
}

/** Four or five round tick values from 0 that cover `max`. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

/** niceTicks in the largest power of 1024 below `max`. */
export function binaryTicks(max: number): number[] {
  let unit = 1;
  while (max / unit >= 1024) unit *= 1024;
  return niceTicks(max / unit).map((t) => t * unit);
}

function withAlpha(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
