/**
 * The dashboard's HTML and CSS. Everything is served by `tether serve` itself: no CDN, no web fonts, nothing
 * fetched from elsewhere. The page reads its settings from the JSON block and loads /dashboard.js.
 */

export interface PageSettings {
  /** The socket mount, e.g. `/socket`. */
  mount: string;
  /** The connect token the server requires, when it requires one (the page is only served to admins). */
  connectToken: string | null;
  /** Whether joining the admin channel needs the admin token. */
  adminTokenRequired: boolean;
}

export function renderPage(settings: PageSettings): string {
  // `<` escaped so no value can close the script element.
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tether · live dashboard</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>${STYLE}</style>
<script id="tether-settings" type="application/json">${json}</script>
<script type="module" src="/dashboard.js"></script>
</head>
<body>
<header>
  <div class="brand">
    <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><circle cx="6" cy="12" r="3.2"/><circle cx="18" cy="12" r="3.2"/><path d="M9.2 12h5.6" stroke-width="2.2"/></svg>
    <span>Tether</span><small>live dashboard</small>
  </div>
  <div class="meta"><span id="node">–</span><span id="endpoint">–</span><span id="uptime">–</span><span id="workers" hidden></span></div>
  <div id="status" class="status connecting"><i></i><span>connecting</span></div>
</header>
<main>
  <section class="kpis">
    ${kpi('connections', 'Connections', 'open sockets')}
    ${kpi('in', 'Messages in', 'per second')}
    ${kpi('out', 'Messages out', 'per second')}
    ${kpi('p99', 'Handler p99', 'ms, last second')}
    ${kpi('lag', 'Event-loop lag', 'ms, p99')}
    ${kpi('rss', 'Memory', 'resident set')}
  </section>
  <section class="charts">
    ${chart('connections', 'Connections')}
    ${chart('messages', 'Messages per second')}
    ${chart('latency', 'Handler latency (ms)')}
    ${chart('bandwidth', 'Bandwidth')}
  </section>
  <section class="lists">
    <article class="card">
      <h2>Topics <span class="count" id="topic-count"></span></h2>
      <div class="scroll"><table id="topics"><thead><tr><th>Topic</th><th class="num">Subscribers</th><th>Presence</th></tr></thead><tbody></tbody></table></div>
    </article>
    <article class="card">
      <h2>Disconnects and errors <span class="count" id="event-count"></span></h2>
      <div id="reasons" class="reasons"></div>
      <div class="scroll"><ul id="events"></ul></div>
    </article>
  </section>
  <section id="tasks" class="tasks" hidden>
    <h2 class="section">Tasks</h2>
    <div id="task-queues" class="charts"></div>
    <div class="lists">
      <article class="card">
        <h2>Running <span class="count" id="running-count"></span></h2>
        <div class="scroll"><ul id="running"></ul></div>
      </article>
      <article class="card">
        <h2>Recent failures <span class="count" id="failure-count"></span></h2>
        <div class="scroll"><ul id="failures"></ul></div>
      </article>
    </div>
  </section>
</main>
<div id="denied" hidden><div><h1>Not authorised</h1><p id="denied-reason"></p><a href="/">Sign in again</a></div></div>
</body>
</html>`;
}

function kpi(id: string, label: string, unit: string): string {
  return `<div class="kpi"><label>${label}</label><output id="kpi-${id}">–</output><small id="kpi-${id}-unit">${unit}</small></div>`;
}

function chart(id: string, title: string): string {
  return `<article class="card chart"><h2>${title}</h2><canvas id="chart-${id}" role="img" aria-label="${title} over the last five minutes"></canvas></article>`;
}

const STYLE = `
:root { color-scheme: dark; --bg:#0d1117; --panel:#151b23; --line:#232c37; --text:#d8dee6; --muted:#7d8b99;
  --blue:#4c9aff; --green:#3fb950; --amber:#e3a93b; --red:#f0625d; --violet:#a78bfa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.4 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; align-items: center; gap: 24px; padding: 14px 28px; border-bottom: 1px solid var(--line);
  background: #10161d; position: sticky; top: 0; z-index: 1; }
.brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 17px; letter-spacing: .2px; }
.brand svg { fill: var(--blue); stroke: var(--blue); }
.brand small { color: var(--muted); font-weight: 400; font-size: 13px; }
.meta { display: flex; gap: 18px; color: var(--muted); font-size: 13px; flex: 1; }
.meta span + span::before { content: "·"; margin-right: 18px; color: #3a4654; }
.status { display: flex; align-items: center; gap: 8px; padding: 5px 12px; border-radius: 999px; font-size: 12.5px;
  border: 1px solid var(--line); background: var(--panel); }
.status i { width: 8px; height: 8px; border-radius: 50%; background: var(--amber); }
.status.live i { background: var(--green); box-shadow: 0 0 0 3px rgba(63,185,80,.18); }
.status.down i { background: var(--red); }
main { padding: 22px 28px 32px; display: grid; gap: 18px; max-width: 1600px; margin: 0 auto; }
.kpis { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 14px; }
.kpi { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px;
  display: grid; gap: 2px; }
.kpi label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.kpi output { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.kpi small { color: var(--muted); font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; min-width: 0; }
.card h2 { margin: 0 0 10px; font-size: 13px; font-weight: 600; color: #c5cfd9; display: flex; gap: 8px; align-items: baseline; }
.card h2 .count { color: var(--muted); font-weight: 400; }
.chart canvas { width: 100%; height: 190px; display: block; }
.lists { display: grid; grid-template-columns: minmax(0, 1.1fr) minmax(0, 1fr); gap: 14px; }
.scroll { max-height: 300px; overflow: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px; padding: 6px 8px; border-bottom: 1px solid var(--line);
  position: sticky; top: 0; background: var(--panel); }
td { padding: 7px 8px; border-bottom: 1px solid #1c242e; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; color: #e6edf3; }
.chip { display: inline-block; padding: 1px 8px; margin: 0 4px 3px 0; border-radius: 999px; background: #1f2a36;
  color: #b6c2cf; font-size: 12px; }
.empty { color: var(--muted); padding: 14px 8px; font-size: 13px; }
ul#events { list-style: none; margin: 0; padding: 0; font-size: 13px; }
ul#events li { display: grid; grid-template-columns: 70px auto 1fr; gap: 10px; padding: 7px 4px; border-bottom: 1px solid #1c242e; }
ul#events time { color: var(--muted); font-variant-numeric: tabular-nums; }
ul#events .detail { color: #aab6c2; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge { font-size: 11.5px; padding: 1px 8px; border-radius: 5px; white-space: nowrap; font-weight: 550; }
.badge.disconnect { background: rgba(227,169,59,.15); color: var(--amber); }
.badge.rejected { background: rgba(167,139,250,.15); color: var(--violet); }
.badge.error { background: rgba(240,98,93,.15); color: var(--red); }
.reasons { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
.tasks { display: grid; gap: 14px; }
.tasks[hidden] { display: none; }
h2.section { margin: 6px 0 0; font-size: 15px; font-weight: 600; }
.queue-figures { display: flex; gap: 14px; color: var(--muted); font-size: 12px; margin-bottom: 6px; flex-wrap: wrap; }
.queue-figures b { color: var(--text); font-weight: 600; font-variant-numeric: tabular-nums; }
ul#running, ul#failures { list-style: none; margin: 0; padding: 0; font-size: 13px; }
ul#running li { display: grid; grid-template-columns: minmax(0, 1fr) 2fr 48px; gap: 10px; align-items: center; padding: 7px 4px;
  border-bottom: 1px solid #1c242e; }
ul#running code, ul#failures code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar { height: 8px; border-radius: 4px; background: #1f2a36; overflow: hidden; }
.bar i { display: block; height: 100%; background: var(--blue); transition: width .3s; }
ul#failures li { display: grid; grid-template-columns: 70px minmax(0, 1fr) 2fr; gap: 10px; padding: 7px 4px; border-bottom: 1px solid #1c242e; }
ul#failures time { color: var(--muted); font-variant-numeric: tabular-nums; }
ul#failures .detail { color: var(--red); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
ul#events li.empty, ul#running li.empty, ul#failures li.empty { display: block; }
#denied { position: fixed; inset: 0; background: rgba(13,17,23,.92); display: grid; place-items: center; }
#denied[hidden] { display: none; }
#denied div { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 24px 30px; }
#denied a { color: var(--blue); }
@media (max-width: 1100px) { .kpis { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  .charts, .lists { grid-template-columns: minmax(0, 1fr); } }
`;
