/**
 * The dashboard's Tasks view: each queue's counters over time (one chart per queue), the running tasks with
 * progress bars and the latest failures with their messages. Shown once the admin channel sends task pictures
 * (a server with task queues); hidden otherwise. How many tasks are listed is bounded by the server's overview
 * (docs/tasks.md); how many queues are charted by MAX_QUEUES.
 */
import { LineChart } from './charts.ts';
import type { TaskCounters, TaskQueueRow, TaskRow, TasksPicture } from './feed.ts';
import { el } from './dom.ts';
import { formatCount } from './format.ts';

const HISTORY_MS = 300_000;
/** Queues charted at most; the rest are counted in the header. */
const MAX_QUEUES = 8;

const COUNTERS = [
  { key: 'pending_tasks', name: 'pending', color: '#e3a93b' },
  { key: 'running_tasks', name: 'running', color: '#4c9aff' },
  { key: 'completed_tasks', name: 'completed', color: '#3fb950' },
  { key: 'failed_tasks', name: 'failed', color: '#f0625d' },
] as const;

interface QueueChart {
  chart: LineChart;
  figures: HTMLElement;
}

export class TasksView {
  readonly #root: HTMLElement;
  readonly #history: TaskCounters[] = [];
  readonly #charts = new Map<string, QueueChart>();

  constructor(root: HTMLElement) {
    this.#root = root;
  }

  snapshot(history: TaskCounters[], latest: TasksPicture | null): void {
    this.#history.length = 0;
    this.#history.push(...history);
    if (latest) this.#draw(latest);
    else this.#root.hidden = false;
  }

  picture(picture: TasksPicture): void {
    this.#history.push({ t: picture.t, queues: picture.queues });
    while (this.#history.length > 0 && this.#history[0].t < picture.t - HISTORY_MS) this.#history.shift();
    this.#draw(picture);
  }

  #draw(picture: TasksPicture): void {
    this.#root.hidden = false;
    const shown = picture.queues.slice(0, MAX_QUEUES);
    for (const queue of shown) this.#drawQueue(queue, picture.t);
    this.#drawRunning(picture.running);
    this.#drawFailures(picture.failures);
  }

  #drawQueue(row: TaskQueueRow, now: number): void {
    let entry = this.#charts.get(row.queue);
    if (!entry) {
      const card = el('article', '', 'card chart');
      card.dataset.queue = row.queue;
      const title = el('h2', '');
      title.append(el('code', row.queue), el('span', 'counters', 'count'));
      const figures = el('div', '', 'queue-figures');
      const canvas = document.createElement('canvas');
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `Counters of queue ${row.queue} over the last five minutes`);
      card.append(title, figures, canvas);
      document.getElementById('task-queues')!.append(card);
      entry = { chart: new LineChart(canvas, { series: COUNTERS.map(({ name, color }) => ({ name, color })), format: formatCount }), figures };
      this.#charts.set(row.queue, entry);
    }
    entry.figures.replaceChildren(
      ...[{ key: 'total_tasks', name: 'total' } as const, ...COUNTERS].map(({ key, name }) => {
        const span = el('span', `${name} `);
        span.dataset.counter = name;
        span.append(el('b', formatCount(row[key])));
        return span;
      }),
    );
    const points = this.#history.map((h) => {
      const q = h.queues.find((x) => x.queue === row.queue);
      return { t: h.t, values: COUNTERS.map(({ key }) => (q ? q[key] : null)) };
    });
    entry.chart.update(points, now);
  }

  #drawRunning(tasks: TaskRow[]): void {
    drawList('running', tasks.length ? String(tasks.length) : '', tasks, 'No task running.', (task, item) => {
      const progress = Math.max(0, Math.min(100, task.progress ?? 0));
      const bar = el('div', '', 'bar');
      bar.setAttribute('role', 'progressbar');
      bar.setAttribute('aria-valuenow', String(progress));
      const fill = el('i', '');
      fill.style.width = `${progress}%`;
      bar.append(fill);
      item.append(taskName(task), bar, el('span', task.progress === undefined ? '–' : `${Math.round(progress)}%`, 'num'));
    });
  }

  #drawFailures(tasks: TaskRow[]): void {
    drawList('failures', tasks.length ? `last ${tasks.length}` : '', tasks, 'No failed task.', (task, item) => {
      const when = task.timestamp === undefined ? '' : new Date(task.timestamp).toLocaleTimeString([], { hour12: false });
      const detail = el('span', task.message ?? '(no message)', 'detail');
      detail.title = task.message ?? '';
      item.append(el('time', when), taskName(task), detail);
    });
  }
}

/** Fills the list `#<id>` (and its count `#<id>-count`) with one item per task, or a line saying there is none. */
function drawList(id: 'running' | 'failures', count: string, tasks: TaskRow[], none: string, fill: (task: TaskRow, item: HTMLElement) => void): void {
  document.getElementById(id === 'running' ? 'running-count' : 'failure-count')!.textContent = count;
  const list = document.getElementById(id)!;
  if (tasks.length === 0) {
    list.replaceChildren(el('li', none, 'empty'));
    return;
  }
  list.replaceChildren(
    ...tasks.map((task) => {
      const item = el('li', '');
      item.dataset.task = `${task.queue}:${task.task_id}`;
      fill(task, item);
      return item;
    }),
  );
}

function taskName(task: TaskRow): HTMLElement {
  const name = el('code', `${task.queue} · ${task.task_id}`);
  name.title = name.textContent ?? '';
  return name;
}
