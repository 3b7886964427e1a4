/**
 * The dashboard script: a Tether client that joins the admin channel and draws what it pushes. Bundled for
 * the browser by esbuild (see src/ops/dashboard-assets.ts). It knows ops only through ./feed.ts.
 */
import { Socket } from '../client/socket.ts';
import { ADMIN_TOPIC, type AdminEvents, type NodeInfo, type RecentEvent, type Sample, type TopicRow, type WorkerInfo } from './feed.ts';
import type { PageSettings } from './page.ts';
import { LineChart, type ChartPoint } from './charts.ts';
import { TasksView } from './tasks-view.ts';
import { el } from './dom.ts';
import { formatBytes, formatCount, formatDuration, formatMs, formatRate } from './format.ts';

const HISTORY_MS = 300_000;
const MAX_EVENTS = 100;

const settings = JSON.parse(document.getElementById('tether-settings')?.textContent ?? '{}') as PageSettings;
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const adminToken = readAdminToken();
const samples: Sample[] = [];
let events: RecentEvent[] = [];
let info: NodeInfo | null = null;
/** With `tether serve --workers`: every worker of the machine (from the snapshot, then each sample). */
let workers: WorkerInfo[] | undefined;

const charts = {
  connections: new LineChart($<HTMLCanvasElement>('chart-connections'), {
    series: [{ name: 'open', color: '#4c9aff' }],
    format: formatCount,
    fill: true,
  }),
  messages: new LineChart($<HTMLCanvasElement>('chart-messages'), {
    series: [
      { name: 'in', color: '#3fb950' },
      { name: 'out', color: '#4c9aff' },
    ],
    format: formatCount,
  }),
  latency: new LineChart($<HTMLCanvasElement>('chart-latency'), {
    series: [
      { name: 'p50', color: '#3fb950' },
      { name: 'p95', color: '#e3a93b' },
      { name: 'p99', color: '#f0625d' },
    ],
    format: formatMs,
  }),
  bandwidth: new LineChart($<HTMLCanvasElement>('chart-bandwidth'), {
    series: [
      { name: 'in', color: '#3fb950' },
      { name: 'out', color: '#a78bfa' },
    ],
    format: (v) => `${formatBytes(v)}/s`,
    binary: true,
  }),
};

const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
const socket = new Socket(`${protocol}//${location.host}${settings.mount}`, {
  params: settings.connectToken ? { token: settings.connectToken } : {},
  heartbeatIntervalMs: 15_000,
});
socket.on('state', (t) => setStatus(t.to === 'open' ? 'live' : t.to === 'failed' || t.to === 'closed' ? 'down' : 'connecting', t.to));

const channel = socket.channel<AdminEvents>(ADMIN_TOPIC, adminToken ? { admin_token: adminToken } : {});
channel.on('snapshot', (snapshot) => {
  info = snapshot.info;
  workers = snapshot.info.workers;
  samples.length = 0;
  samples.push(...snapshot.history);
  events = snapshot.recent.slice(-MAX_EVENTS);
  render(snapshot.topics);
});
channel.on('sample', (message) => {
  samples.push(message.sample);
  while (samples.length > 0 && samples[0].t < message.sample.t - HISTORY_MS) samples.shift();
  events = events.concat(message.events).slice(-MAX_EVENTS);
  workers = message.workers ?? workers;
  render(message.topics);
});
const tasksView = new TasksView($('tasks'));
channel.on('tasks_snapshot', ({ history, latest }) => tasksView.snapshot(history, latest));
channel.on('tasks', (picture) => tasksView.picture(picture));
void channel.join().then((result) => {
  if (result.status === 'error') {
    const reason = (result.response as { reason?: string }).reason ?? 'refused';
    $('denied-reason').textContent = `The admin channel refused this page (${reason}). Open the dashboard with the server's admin token.`;
    $('denied').hidden = false;
    sessionStorage.removeItem('tether-admin-token');
  }
});
socket.connect();
setInterval(() => {
  if (info) $('uptime').textContent = `up ${formatDuration(Date.now() - info.startedAt)}`;
}, 1000);

function readAdminToken(): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    // Keep the token out of the address bar and history once read.
    sessionStorage.setItem('tether-admin-token', fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return settings.adminTokenRequired ? sessionStorage.getItem('tether-admin-token') : null;
}

function setStatus(kind: 'live' | 'connecting' | 'down', label: string): void {
  const status = $('status');
  status.className = `status ${kind}`;
  status.querySelector('span')!.textContent = label === 'open' ? 'live' : label;
}

function render(topics: TopicRow[]): void {
  const latest = last(samples);
  if (info) {
    $('node').textContent = `node ${info.node}`;
    $('endpoint').textContent = info.endpoint;
  }
  if (workers) {
    // Short: `workers w1 3 · w2 2` (connections each; ids end in -wI, the full ids are in the tooltip).
    $('workers').hidden = false;
    $('workers').textContent = `workers ${workers.map((w) => `${w.node.slice(w.node.lastIndexOf('-') + 1)} ${formatCount(w.connections)}`).join(' · ')}`;
    $('workers').title = workers.map((w) => `${w.node} (pid ${w.pid}): ${w.connections} connections, ${w.restarts} restarts`).join('\n');
  }
  if (latest) {
    $('kpi-connections').textContent = formatCount(latest.connections);
    // Older servers' samples have no long-poll count.
    const longPoll = latest.longPollConnections ?? 0;
    $('kpi-connections-unit').textContent = longPoll > 0 ? `open · ${formatCount(longPoll)} long-poll` : 'open sockets';
    $('kpi-in').textContent = formatRate(latest.messagesInPerSec);
    $('kpi-out').textContent = formatRate(latest.messagesOutPerSec);
    $('kpi-p99').textContent = latest.latencyMs ? formatMs(latest.latencyMs.p99) : '–';
    $('kpi-lag').textContent = formatMs(latest.eventLoopLagMs);
    $('kpi-rss').textContent = formatBytes(latest.rssBytes);
  }
  const now = latest?.t ?? Date.now();
  const points = (pick: (s: Sample) => (number | null)[]): ChartPoint[] => samples.map((s) => ({ t: s.t, values: pick(s) }));
  charts.connections.update(points((s) => [s.connections]), now);
  charts.messages.update(points((s) => [s.messagesInPerSec, s.messagesOutPerSec]), now);
  charts.latency.update(points((s) => (s.latencyMs ? [s.latencyMs.p50, s.latencyMs.p95, s.latencyMs.p99] : [null, null, null])), now);
  charts.bandwidth.update(points((s) => [s.bytesInPerSec, s.bytesOutPerSec]), now);
  renderTopics(topics, latest?.topics);
  renderEvents();
}

function renderTopics(topics: TopicRow[], active: number | undefined): void {
  $('topic-count').textContent = active === undefined ? '' : `${formatCount(active)} active`;
  const body = $('topics').querySelector('tbody')!;
  if (topics.length === 0) {
    body.replaceChildren(row([cell('No topics joined yet', 'empty', 3)]));
    return;
  }
  body.replaceChildren(
    ...topics.map((t) => {
      const topic = cell('');
      topic.append(el('code', t.topic));
      const presence = cell('');
      if (t.presence === 0) presence.append(el('span', '–', 'muted'));
      for (const key of t.present) presence.append(el('span', key, 'chip'));
      if (t.presence > t.present.length) presence.append(el('span', `+${t.presence - t.present.length}`, 'chip'));
      return row([topic, cell(formatCount(t.subscribers), 'num'), presence]);
    }),
  );
}

function renderEvents(): void {
  $('event-count').textContent = events.length ? `last ${events.length}` : '';
  const tally = new Map<string, { kind: string; n: number }>();
  for (const e of events) {
    const entry = tally.get(e.label) ?? { kind: e.kind, n: 0 };
    entry.n++;
    tally.set(e.label, entry);
  }
  $('reasons').replaceChildren(
    ...[...tally].sort((a, b) => b[1].n - a[1].n).map(([label, { kind, n }]) => el('span', `${label} × ${n}`, `badge ${kind}`)),
  );
  const list = $('events');
  if (events.length === 0) {
    list.replaceChildren(el('li', 'No abnormal disconnects or errors. Clean closes (1000, 1001) are not listed.', 'empty'));
    return;
  }
  list.replaceChildren(
    ...events
      .slice()
      .reverse()
      .map((e) => {
        const item = document.createElement('li');
        const time = el('time', new Date(e.t).toLocaleTimeString([], { hour12: false }));
        const detail = el('span', e.detail, 'detail');
        detail.title = e.detail;
        item.append(time, el('span', e.label, `badge ${e.kind}`), detail);
        return item;
      }),
  );
}

function last<T>(list: T[]): T | undefined {
  return list[list.length - 1];
}

function cell(text: string, className?: string, colSpan?: number): HTMLTableCellElement {
  const td = el('td', text, className) as HTMLTableCellElement;
  if (colSpan) td.colSpan = colSpan;
  return td;
}

function row(cells: HTMLElement[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}
