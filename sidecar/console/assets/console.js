// Warden's console: one snapshot a second over Server-Sent Events (/api/v1/events), JSON
// endpoints for what the snapshot does not carry, hand-written SVG for the chart. No library.
'use strict';

const csrf = document.querySelector('meta[name=warden-csrf]').content;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = {
  snapshot: null,
  range: params.get('range') || '15m',    // the chart's time range
  window: params.get('window') || '5m',   // the top talkers' window
  filters: parseFilters(params.get('filter') || ''),
  top: null,        // /api/v1/top when the window is not the snapshot's
  countries: null,
  paths: null,
  series: null,     // /api/v1/series?step=1m when the range is over 15 min
  clockOffset: 0,   // server time - local time, ms
  shown: {},        // the rows each table shows, for export
  still: '',        // set once the page stopped following the stream (?live=N)
};

// ---- errors: anything that goes wrong is counted where a test (and a person) can see it
function recordError(text) {
  const box = $('page-errors');
  box.dataset.count = String(Number(box.dataset.count) + 1);
  box.hidden = false;
  box.textContent = text;
}
window.addEventListener('error', (e) => recordError(String(e.message || e.type)), true);
window.addEventListener('unhandledrejection', (e) => recordError(String(e.reason)));

// ---- formatting
const fmtInt = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return 'never';
  seconds = Math.max(0, Math.round(seconds));
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600);
  const m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  if (d) return d + 'd' + (h ? h + 'h' : '');
  if (h) return h + 'h' + (m ? m + 'm' : '');
  if (m) return m + 'm' + (s ? s + 's' : '');
  return s + 's';
}
const serverNow = () => Date.now() + state.clockOffset;
function fmtTime(ms) { return new Date(ms).toISOString().substring(11, 19); }
function rangeSeconds(text) {
  const m = /^(\d+)([smh])$/.exec(text);
  if (!m) return 900;
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2]];
}

// ---- filters: "field:value" keeps matching rows, "!field:value" drops them; in the URL
function parseFilters(text) {
  return text.split(',').filter(Boolean).map((f) => {
    const not = f.startsWith('!');
    const body = not ? f.substring(1) : f;
    const at = body.indexOf(':');
    return at < 1 ? null : { not, field: body.substring(0, at), value: body.substring(at + 1) };
  }).filter(Boolean);
}
function saveUrl() {
  const p = new URLSearchParams();
  if (state.range !== '15m') p.set('range', state.range);
  if (state.window !== '5m') p.set('window', state.window);
  if (state.filters.length) {
    p.set('filter', state.filters.map((f) => (f.not ? '!' : '') + f.field + ':' + f.value).join(','));
  }
  const q = p.toString();
  history.replaceState(null, '', q ? '?' + q : location.pathname);
}
function addFilter(field, value, not) {
  state.filters = state.filters.filter((f) => !(f.field === field && f.value === value));
  state.filters.push({ field, value, not });
  saveUrl();
  render();
}
function keep(row) {
  return state.filters.every((f) => {
    if (!(f.field in row)) return true;
    const same = String(row[f.field] === null ? '-' : row[f.field]) === f.value;
    return f.not ? !same : same;
  });
}
function renderFilters() {
  const box = $('filters');
  box.textContent = '';
  state.filters.forEach((f, i) => {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.textContent = f.field + (f.not ? ' ≠ ' : ' = ') + f.value + ' ';
    const x = document.createElement('button');
    x.textContent = '✕';
    x.title = 'remove this filter';
    x.onclick = () => { state.filters.splice(i, 1); saveUrl(); render(); };
    chip.appendChild(x);
    box.appendChild(chip);
  });
}

// ---- tables: columns {key, label, num, filter, fmt(row), cell(td,row)}
function renderTable(name, columns, rows) {
  const table = $(name + '-table');
  const shown = rows.filter(keep);
  state.shown[name] = { columns, rows: shown };
  table.textContent = '';
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement('th');
    th.textContent = c.label;
    if (c.num) th.className = 'num';
    head.appendChild(th);
  }
  const body = table.createTBody();
  if (!shown.length) {
    const td = body.insertRow().insertCell();
    td.colSpan = columns.length;
    td.className = 'empty';
    td.textContent = rows.length ? 'no row matches the filters' : 'none';
    return;
  }
  for (const row of shown) {
    const tr = body.insertRow();
    for (const c of columns) {
      const td = tr.insertCell();
      td.dataset.col = c.key;
      if (c.num) td.className = 'num';
      if (c.cell) { c.cell(td, row); continue; }
      const text = c.fmt ? c.fmt(row) : (row[c.key] === null || row[c.key] === undefined ? '-' : String(row[c.key]));
      if (c.filter && text !== '-') {
        const v = document.createElement('button');
        v.className = 'val';
        v.textContent = text;
        v.title = 'show only ' + c.key + ' ' + text;
        v.onclick = () => addFilter(c.key, String(row[c.key]), false);
        const n = document.createElement('button');
        n.className = 'not';
        n.textContent = '⊘';
        n.title = 'hide ' + c.key + ' ' + text;
        n.setAttribute('aria-label', n.title);
        n.onclick = () => addFilter(c.key, String(row[c.key]), true);
        td.append(v, n);
      } else {
        td.textContent = text;
      }
    }
  }
}
function csvCell(v) {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function exportTable(name, kind) {
  const t = state.shown[name];
  if (!t) return;
  let text;
  if (kind === 'json') {
    text = JSON.stringify(t.rows, null, 2);
  } else {
    const keys = [...new Set(t.rows.flatMap((r) => Object.keys(r)))];
    text = [keys.join(',')].concat(t.rows.map((r) => keys.map((k) => csvCell(r[k])).join(','))).join('\n') + '\n';
  }
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: kind === 'json' ? 'application/json' : 'text/csv' }));
  a.download = 'warden-' + name + '.' + kind;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
for (const tools of document.querySelectorAll('.tools')) {
  for (const kind of ['csv', 'json']) {
    const b = document.createElement('button');
    b.textContent = kind.toUpperCase();
    b.title = 'download this table as ' + kind.toUpperCase();
    b.onclick = () => exportTable(tools.dataset.table, kind);
    tools.appendChild(b);
  }
}

// ---- write actions: the CSRF token of the page in a header; the daemon audits each
function message(text, error) {
  const m = $('message');
  m.hidden = false;
  m.textContent = text;
  m.className = error ? 'error' : '';
}
async function post(action, body) {
  body.by = $('actor').value;
  let reply;
  try {
    const r = await fetch('/api/v1/' + action, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Warden-CSRF': csrf },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
    reply = await r.json();
    if (!r.ok) throw new Error(reply.error || r.statusText);
  } catch (e) {
    message(action + ' ' + body.entry + ': ' + e.message, true);
    return;
  }
  const until = reply.expires_at ? ' until ' + reply.expires_at : ' permanently';
  message(action === 'ban' ? 'banned ' + reply.banned + until
    : action === 'allow' ? 'allowed ' + reply.allowed + until + ' (never blocked, limited or auto-banned)'
      : 'removed ' + reply.unbanned);
  refreshSoon();
}
const ban = (entry) => post('ban', { entry, ttl: $('ttl').value, reason: $('reason').value });
const unban = (entry) => post('unban', { entry });
const allow = (entry) => post('allow', { entry, ttl: $('ttl').value, reason: $('reason').value });
$('ban-submit').onclick = () => { if ($('ban-entry').value.trim()) ban($('ban-entry').value.trim()); };

// ---- the chart: requests stacked by decision, 4xx and 5xx as lines; each series has a text
// label and its own pattern (or dash), so it reads without colour
const SERIES = [
  { key: 'pass', label: 'passed', color: 'var(--pass)', pattern: 'solid' },
  { key: 'blacklist', label: 'blocked: blacklist', color: 'var(--refused)', pattern: 'diagonal' },
  { key: 'country', label: 'blocked: country', color: 'var(--country)', pattern: 'cross' },
  { key: 'autoban', label: 'blocked: autoban', color: 'var(--autoban)', pattern: 'vertical' },
  { key: 'limited', label: 'limited', color: 'var(--limited)', pattern: 'horizontal' },
  { key: 'challenge', label: 'challenged', color: 'var(--challenge)', pattern: 'dots' },
  { key: 'dry_run', label: 'dry run (would be refused)', color: 'var(--dryrun)', pattern: 'backslash' },
  { key: 'other', label: 'refused, cause not recorded', color: 'var(--muted)', pattern: 'checker',
    optional: true },
];
const LINES = [
  { key: '4xx', label: '4xx responses', color: 'var(--warn)', dash: '6 3' },
  { key: '5xx', label: '5xx responses', color: 'var(--bad)', dash: '2 2', width: 2.5 },
];
const svgNs = 'http://www.w3.org/2000/svg';
function el(name, attrs, parent) {
  const e = document.createElementNS(svgNs, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
// One hidden <svg> of fill patterns, shared by the chart and the legend's swatches.
function ensurePatterns() {
  if ($('series-patterns')) return;
  const svg = el('svg', { id: 'series-patterns', width: 0, height: 0, 'aria-hidden': 'true',
    style: 'position:absolute' }, document.body);
  const defs = el('defs', {}, svg);
  const marks = {
    diagonal: (p, c) => el('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: c, 'stroke-width': 3 }, p),
    backslash: (p, c) => el('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: c, 'stroke-width': 1.5 }, p),
    vertical: (p, c) => el('line', { x1: 3, y1: 0, x2: 3, y2: 6, stroke: c, 'stroke-width': 2 }, p),
    horizontal: (p, c) => el('line', { x1: 0, y1: 3, x2: 6, y2: 3, stroke: c, 'stroke-width': 2 }, p),
    cross: (p, c) => { marks.vertical(p, c); marks.horizontal(p, c); },
    dots: (p, c) => el('circle', { cx: 3, cy: 3, r: 1.6, fill: c }, p),
    checker: (p, c) => { el('rect', { width: 3, height: 3, fill: c }, p); el('rect', { x: 3, y: 3, width: 3, height: 3, fill: c }, p); },
  };
  const rotate = { diagonal: 'rotate(45)', backslash: 'rotate(-45)' };
  for (const s of SERIES) {
    if (s.pattern === 'solid') continue;
    const attrs = { id: 'pattern-' + s.key, width: 6, height: 6, patternUnits: 'userSpaceOnUse' };
    if (rotate[s.pattern]) attrs.patternTransform = rotate[s.pattern];
    const p = el('pattern', attrs, defs);
    el('rect', { width: 6, height: 6, fill: s.color, 'fill-opacity': 0.25 }, p);
    marks[s.pattern](p, s.color);
  }
}
const fillOf = (s) => (s.pattern === 'solid' ? s.color : 'url(#pattern-' + s.key + ')');
// The series a chart draws: "other" only when some step has it.
function shownSeries(series) {
  return SERIES.filter((s) => series && series[s.key] && (!s.optional || series[s.key].some((v) => v > 0)));
}
function renderLegend(series, last) {
  const ul = $('legend');
  ul.textContent = '';
  const values = (s) => (last === null ? '' : ': ' + fmtInt(series[s.key] ? series[s.key][last] : 0) + ' in the last step');
  for (const s of series ? shownSeries(series) : SERIES.filter((x) => !x.optional)) {
    const li = document.createElement('li');
    const sw = el('svg', { width: 14, height: 14, 'aria-hidden': 'true' });
    el('rect', { width: 14, height: 14, fill: fillOf(s), stroke: s.color }, sw);
    li.appendChild(sw);
    li.append(s.label + (series ? values(s) : ''));
    li.dataset.series = s.key;
    ul.appendChild(li);
  }
  for (const s of LINES) {
    const li = document.createElement('li');
    const sw = el('svg', { width: 22, height: 14, 'aria-hidden': 'true' });
    el('line', { x1: 0, y1: 7, x2: 22, y2: 7, stroke: s.color, 'stroke-width': s.width || 1.5,
      'stroke-dasharray': s.dash }, sw);
    li.appendChild(sw);
    li.append(s.label + (series ? values(s) : ''));
    li.dataset.series = s.key;
    li.className = 'line';
    ul.appendChild(li);
  }
}
function renderChart(series) {
  ensurePatterns();
  const box = $('chart');
  box.textContent = '';
  // As wide as the panel, in its pixels: the labels keep their shape in a narrow window.
  const W = Math.max(280, Math.round(box.clientWidth) || 1000), H = 220, L = 48, B = 20, T = 8;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}` }, box);
  const n = series && series.pass ? series.pass.length : 0;
  if (!n) { renderLegend(null, null); return; }
  const stacked = shownSeries(series);
  const totals = series.pass.map((p, i) => stacked.reduce((a, s) => a + (series[s.key][i] || 0), 0));
  const max = Math.max(1, ...totals);
  const round = (v) => Math.round(v * 10) / 10;
  const x = (i) => round(L + (W - L - 4) * (n === 1 ? 1 : i / (n - 1)));
  const y = (v) => round(H - B - (H - B - T) * (Math.min(v, max) / max));
  let base = new Array(n).fill(0);
  for (const s of stacked) {
    const top = base.map((b, i) => b + (series[s.key][i] || 0));
    let d = `M${x(0)},${y(top[0])}`;
    for (let i = 1; i < n; i++) d += `L${x(i)},${y(top[i])}`;
    for (let i = n - 1; i >= 0; i--) d += `L${x(i)},${y(base[i])}`;
    const path = el('path', { d: d + 'Z', fill: fillOf(s), stroke: s.color, 'stroke-width': 0.5,
      'data-series': s.key }, svg);
    el('title', {}, path).textContent = s.label;
    base = top;
  }
  for (const s of LINES) {
    const v = series[s.key];
    if (!v) continue;
    let d = `M${x(0)},${y(v[0] || 0)}`;
    for (let i = 1; i < n; i++) d += `L${x(i)},${y(v[i] || 0)}`;
    const path = el('path', { d, fill: 'none', stroke: s.color, 'stroke-width': s.width || 1.5,
      'stroke-dasharray': s.dash, 'data-series': s.key }, svg);
    el('title', {}, path).textContent = s.label;
  }
  el('line', { x1: L, y1: H - B, x2: W, y2: H - B, stroke: 'var(--line)' }, svg);
  const unit = series.step_ms === 1000 ? '/s' : '/min';
  el('text', { x: 2, y: T + 10 }, svg).textContent = fmtInt(max) + unit;
  el('text', { x: 2, y: H - B }, svg).textContent = '0';
  el('text', { x: L, y: H - 4 }, svg).textContent = fmtTime(series.start_ms);
  el('text', { x: W - 4, y: H - 4, 'text-anchor': 'end' }, svg).textContent = fmtTime(series.start_ms + (n - 1) * series.step_ms);
  renderLegend(series, n - 1);
  $('traffic-scope').textContent = `(${state.range}, one point per ${series.step_ms === 1000 ? 'second' : 'minute'})`;
}
function chartSeries() {
  const snap = state.snapshot;
  if (rangeSeconds(state.range) > 900) return state.series;
  if (!snap || !snap.series) return null;
  const s = snap.series, keepN = rangeSeconds(state.range), from = Math.max(0, s.pass.length - keepN);
  const out = { step_ms: s.step_ms, start_ms: s.start_ms + from * s.step_ms, decisions: s.decisions,
    lines: s.lines || [] };
  for (const k of [...s.decisions, ...(s.lines || []), 'requests', 'refused']) {
    if (s[k]) out[k] = s[k].slice(from);
  }
  return out;
}

// ---- panels
function statusShare(r, cls) {
  const n = r.status ? r.status[cls] : null;
  if (n === null || n === undefined) return '-';
  return fmtInt(n) + (n && r.requests ? ' (' + Math.round(100 * n / r.requests) + '%)' : '');
}
const topColumns = [
  { key: 'address', label: 'address', filter: true },
  { key: 'country', label: 'country', filter: true },
  { key: 'requests', label: 'requests', num: true, fmt: (r) => fmtInt(r.requests) },
  { key: 'rate', label: 'req/s', num: true,
    fmt: (r) => (r.requests / (rangeSeconds(state.window))).toFixed(2) },
  { key: 'refused', label: 'refused', num: true, fmt: (r) => fmtInt(r.refused) },
  { key: 'share', label: 'refused %', num: true,
    fmt: (r) => (r.requests ? (100 * r.refused / r.requests).toFixed(0) + '%' : '-') },
  // Each with its share of the address's requests: a bot's 404s, a backend's 5xx.
  { key: '4xx', label: '4xx', num: true, fmt: (r) => statusShare(r, '4xx') },
  { key: '5xx', label: '5xx', num: true, fmt: (r) => statusShare(r, '5xx') },
  { key: 'upstream_ms', label: 'upstream ms', num: true, fmt: (r) => fmtInt(r.upstream_ms) },
  ...profileColumns(),
  { key: 'state', label: 'state', filter: true },
  { key: 'action', label: '', cell: (td, r) => {
    const button = (text, action, title, onclick, className) => {
      const b = document.createElement('button');
      b.textContent = text;
      b.title = title;
      b.dataset.action = action;
      if (className) b.className = className;
      b.onclick = onclick;
      td.appendChild(b);
    };
    if (r.state === 'banned') {
      button('Unban', 'unban', 'take ' + r.ban + ' off the blacklist', () => unban(r.ban));
    } else if (r.state === 'allowed') {
      button('Remove allow', 'unallow', 'take ' + r.ban + ' off the allow list', () => unban(r.ban));
    } else {
      button('Ban', 'ban', 'ban ' + r.address + ' for ' + $('ttl').value, () => ban(r.address), 'danger');
    }
    if (r.state !== 'allowed') {
      button('Allow', 'allow', 'never block, limit or auto-ban ' + r.address + ' (for ' + $('ttl').value + ')',
        () => allow(r.address));
    }
  } },
];
// What the nodes tell of an address beyond its counts: its distinct paths, its most requested
// path, its user agent (click to filter by them) and its autoban strikes.
function profileColumns() {
  const cut = (text, max) => (text === null || text === undefined ? '-'
    : text.length > max ? text.substring(0, max - 1) + '…' : text);
  return [
    { key: 'distinct_paths', label: 'paths', num: true, fmt: (r) => (r.distinct_paths === null
      || r.distinct_paths === undefined ? '-' : fmtInt(r.distinct_paths) + (r.distinct_paths_saturated ? '+' : '')) },
    { key: 'top_path', label: 'top path', filter: true, fmt: (r) => cut(r.top_path, 40) },
    { key: 'user_agent', label: 'user agent', filter: true, fmt: (r) => cut(r.user_agent, 48) },
    { key: 'strikes', label: 'strikes', num: true, fmt: (r) => fmtInt(r.strikes) },
  ];
}
const countryColumns = [
  { key: 'country', label: 'country', filter: true },
  { key: 'addresses', label: 'addresses', num: true, fmt: (r) => fmtInt(r.addresses) },
  { key: 'requests', label: 'requests', num: true, fmt: (r) => fmtInt(r.requests) },
  { key: 'refused', label: 'refused', num: true, fmt: (r) => fmtInt(r.refused) },
];
// The "cause" view: one path, or the backend (5xx, upstream time)?
const pathColumns = [
  { key: 'path', label: 'path', filter: true },
  { key: 'requests', label: 'requests', num: true, fmt: (r) => fmtInt(r.requests) },
  { key: '5xx', label: '5xx', num: true, fmt: (r) => fmtInt(r['5xx']) },
  { key: 'upstream_ms', label: 'upstream ms', num: true, fmt: (r) => fmtInt(r.upstream_ms) },
  { key: 'per_request', label: 'ms/request', num: true,
    fmt: (r) => (r.requests ? (r.upstream_ms / r.requests).toFixed(1) : '-') },
];
const banColumns = [
  { key: 'entry', label: 'entry', filter: true },
  { key: 'source', label: 'source', filter: true },
  { key: 'reason', label: 'reason' },
  { key: 'expires', label: 'expires in', num: true, cell: (td, r) => {
    td.dataset.expires = r.expires_at || '';
    td.textContent = r.expires_at ? fmtDuration((Date.parse(r.expires_at) - serverNow()) / 1000) : 'never';
  } },
  { key: 'added_by', label: 'by', filter: true },
  { key: 'nodes_reached', label: 'reached', num: true, fmt: fmtReach },
  { key: 'action', label: '', cell: (td, r) => {
    const b = document.createElement('button');
    b.textContent = r.source === 'allow' ? 'Remove' : 'Unban';
    b.dataset.action = 'unban';
    b.onclick = () => unban(r.entry);
    td.appendChild(b);
  } },
];
const jobColumns = [
  { key: 'name', label: 'job', filter: true },
  { key: 'type', label: 'type', filter: true },
  { key: 'schedule', label: 'schedule' },
  { key: 'next', label: 'next run', fmt: (r) => (r.next_fire
    ? 'in ' + fmtDuration((Date.parse(r.next_fire) - serverNow()) / 1000) : '-') },
  { key: 'running_here', label: 'running', fmt: (r) => (r.running_here ? 'yes' : 'no') },
  // A batch going on anywhere in the fleet: rows done of total, and when it will be done.
  { key: 'progress', label: 'progress', cell: (td, r) => {
    const p = r.progress;
    if (!p || !p.total) { td.textContent = p ? 'starting on ' + p.node : '-'; return; }
    const share = Math.min(100, Math.floor(100 * p.done / p.total));
    const bar = document.createElement('progress');
    bar.max = p.total;
    bar.value = p.done;
    bar.setAttribute('aria-label', r.name + ' progress');
    td.append(bar, ' ' + share + '% (' + fmtInt(p.done) + ' of ' + fmtInt(p.total) + ')'
      + (p.eta_s ? ', ETA ' + fmtDuration(p.eta_s) : '') + (p.node ? ' on ' + p.node : ''));
    td.dataset.done = String(p.done);
    td.dataset.total = String(p.total);
  } },
  { key: 'result', label: 'last result', fmt: (r) => (r.last ? r.last.result : '-') },
  { key: 'finished', label: 'last finished', fmt: (r) => (r.last && r.last.finished
    ? fmtDuration((serverNow() - r.last.finished) / 1000) + ' ago' : '-') },
  { key: 'duration', label: 'took', num: true, fmt: (r) => (r.last && r.last.finished
    ? fmtDuration((r.last.finished - r.last.started) / 1000) : '-') },
  { key: 'failures', label: 'failures in a row', num: true,
    fmt: (r) => (r.failures === null || r.failures === undefined ? '-' : fmtInt(r.failures)) },
  { key: 'error', label: 'error', fmt: (r) => (r.last && r.last.error ? r.last.error : '') },
];
// ---- nodes (sidecars and nginx nodes), rate-limit zones, each ban's reach
const fmtMs = (ms) => (ms === null || ms === undefined ? '-' : fmtInt(ms) + ' ms');
const nodeColumns = [
  { key: 'node', label: 'node', filter: true },
  { key: 'role', label: 'role', filter: true },
  { key: 'state', label: 'state', cell: (td, r) => { td.textContent = r.state; td.className = 'state-' + r.state; } },
  { key: 'age', label: 'last heartbeat', num: true, fmt: (r) => fmtDuration(r.age_ms / 1000) + ' ago' },
  { key: 'blacklist_seq', label: 'blacklist version', num: true, cell: (td, r) => {
    if (r.blacklist_seq === undefined) { td.textContent = '-'; return; }
    td.textContent = fmtInt(r.blacklist_seq) + (r.behind ? ' (behind by ' + fmtInt(r.behind) + ')' : ' (current)');
    if (r.behind) td.className = 'num state-stale';
  } },
  { key: 'sync_lag_ms', label: 'sync lag', num: true,
    fmt: (r) => (r.sync_lag_ms === undefined ? '-' : r.sync_lag_ms < 0 ? 'never synced' : fmtMs(r.sync_lag_ms)) },
  { key: 'shm_use_pct', label: 'shared memory', num: true,
    fmt: (r) => (r.shm_use_pct === undefined ? '-' : r.shm_use_pct + '% (' + r.shm_fullest + ')') },
  { key: 'redis_state', label: 'redis', cell: (td, r) => {
    td.textContent = r.redis_state || '-';
    if (r.redis_state && r.redis_state !== 'ok') td.className = 'state-down';
  } },
  { key: 'where', label: 'listen / version',
    fmt: (r) => (r.role === 'nginx' ? 'nginx ' + (r.nginx_version || '?') + ', ' + fmtInt(r.workers) + ' workers' : r.listen || '-') },
  { key: 'started_at', label: 'started' },
];
const limitColumns = [
  { key: 'zone', label: 'zone', filter: true },
  { key: 'node', label: 'node', filter: true },
  { key: 'mode', label: 'mode', filter: true },
  { key: 'passed', label: 'passed', num: true, fmt: (r) => fmtInt(r.passed) },
  { key: 'delayed', label: 'delayed', num: true, fmt: (r) => fmtInt(r.delayed) },
  { key: 'rejected', label: 'rejected', num: true, fmt: (r) => fmtInt(r.rejected) },
  { key: 'dry_run', label: 'dry run', num: true, fmt: (r) => fmtInt(r.dry_run) },
  { key: 'fail_open', label: 'fail-open', num: true, fmt: (r) => fmtInt(r.fail_open) },
  { key: 'fail_closed', label: 'fail-closed', num: true, fmt: (r) => fmtInt(r.fail_closed) },
  { key: 'keys', label: 'keys', num: true, fmt: (r) => fmtInt(r.keys) },
];
// "2/2 nodes, slowest 12 ms": how many nginx nodes have a ban, and how fast it got there.
function fmtReach(r) {
  if (r.nodes_of === undefined) return '-';
  let text = r.nodes_reached + '/' + r.nodes_of + ' nodes';
  if (r.slowest_ms !== null && r.slowest_ms !== undefined) {
    text += r.nodes_timed > 1 ? ', median ' + fmtMs(r.median_ms) + ', slowest ' + fmtMs(r.slowest_ms)
      : ', in ' + fmtMs(r.slowest_ms);
  }
  return text;
}
function renderFleet(snap) {
  if (snap.nodes) renderTable('nodes', nodeColumns, snap.nodes);
  if (snap.limits) {
    const plural = (n, one) => fmtInt(n) + ' ' + one + (n === 1 ? '' : 's');
    const sums = snap.limits.zones.map((z) => Object.assign({}, z, { node: 'all ' + plural(z.nodes, 'node') }));
    $('limits-total').textContent = '(' + plural(snap.limits.zones.length, 'zone') + '; totals since each node started)';
    renderTable('limits', limitColumns, sums.concat(snap.limits.by_node));
  }
}

function render() {
  renderFilters();
  const snap = state.snapshot;
  if (!snap) return;
  const redisOk = snap.redis && snap.redis.ok;
  const status = $('status');
  status.dataset.state = redisOk ? 'live' : 'down';
  status.textContent = (redisOk ? 'live, ' + fmtTime(snap.now_ms) + ' UTC'
    : 'Redis unavailable: ' + snap.redis.error) + (state.still || '');
  if (snap.totals) {
    $('kpi-requests').textContent = fmtInt(snap.totals.requests);
    $('kpi-refused').textContent = fmtInt(snap.totals.refused);
    const s = snap.series;
    const last = s && s.requests && s.requests.length ? s.requests[s.requests.length - 1] : null;
    $('kpi-rps').textContent = fmtInt(last);
  }
  if (snap.bans) $('kpi-bans').textContent = fmtInt(snap.bans.total);
  if (snap.blacklist) $('kpi-seq').textContent = fmtInt(snap.blacklist.seq);
  renderChart(chartSeries());
  const top = state.window === '5m' ? snap.top : state.top;
  const countries = state.window === '5m' ? snap.countries : state.countries;
  const paths = state.window === '5m' ? snap.paths : state.paths;
  if (top) {
    $('top-window').textContent = '(last ' + top.window + ')';
    renderTable('top', topColumns, top.rows);
  }
  if (countries) {
    $('countries-window').textContent = '(last ' + countries.window + ')';
    renderTable('countries', countryColumns, countries.rows);
  }
  if (paths) {
    $('paths-window').textContent = '(last ' + paths.window + ')';
    renderTable('paths', pathColumns, paths.rows);
  }
  if (snap.bans) {
    const entries = snap.bans.total + (snap.bans.allowed || 0);
    $('bans-total').textContent = '(' + fmtInt(snap.bans.total) + (snap.bans.total === 1 ? ' ban' : ' bans')
      + (snap.bans.allowed ? ', ' + fmtInt(snap.bans.allowed) + ' allowed' : '')
      + (entries > snap.bans.rows.length ? ', the first ' + snap.bans.rows.length + ' shown' : '') + ')';
    renderTable('bans', banColumns, snap.bans.rows);
  }
  renderTable('jobs', jobColumns, snap.jobs || []);
  renderFleet(snap);
}

// ---- data
async function getJson(path) {
  const r = await fetch(path, { credentials: 'same-origin' });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
function accept(snapshot) {
  state.snapshot = snapshot;
  if (snapshot.now_ms) state.clockOffset = snapshot.now_ms - Date.now();
  render();
}
async function refreshExtra() {
  try {
    if (state.window !== '5m') {
      const w = encodeURIComponent(state.window);
      state.top = await getJson('/api/v1/top?by=address&limit=50&window=' + w);
      state.countries = await getJson('/api/v1/top?by=country&limit=20&window=' + w);
      state.paths = await getJson('/api/v1/top?by=path&limit=20&window=' + w);
    }
    if (rangeSeconds(state.range) > 900) {
      state.series = await getJson('/api/v1/series?step=1m&range=' + encodeURIComponent(state.range));
    }
    render();
  } catch (e) {
    message(e.message, true);
  }
}
let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try { accept(await getJson('/api/v1/overview')); } catch (e) { message(e.message, true); }
    refreshExtra();
  }, 300);
}
// ?live=0: a still page (printing, screenshots); ?live=N: N updates, then still (tests).
function connect() {
  const limit = params.has('live') ? Number(params.get('live')) : Infinity;
  if (!(limit > 0)) return;
  const events = new EventSource('/api/v1/events');
  let received = 0;
  events.onopen = () => { $('status').dataset.state = 'live'; };
  events.onmessage = (e) => {
    accept(JSON.parse(e.data));
    if (++received >= limit) {
      events.close();
      state.still = ', still after ' + received + ' updates';
      render();
    }
  };
  events.onerror = () => {
    const s = $('status');
    s.dataset.state = 'down';
    s.textContent = 'reconnecting…';  // EventSource retries by itself
  };
}

window.addEventListener('resize', () => renderChart(chartSeries()));
for (const [id, key] of [['range', 'range'], ['window', 'window']]) {
  const select = $(id);
  if (![...select.options].some((o) => o.value === state[key])) state[key] = select.value;
  select.value = state[key];
  select.onchange = () => { state[key] = select.value; saveUrl(); refreshExtra(); render(); };
}
setInterval(() => {  // countdowns between snapshots
  for (const td of document.querySelectorAll('td[data-expires]')) {
    if (td.dataset.expires) td.textContent = fmtDuration((Date.parse(td.dataset.expires) - serverNow()) / 1000);
  }
}, 1000);
setInterval(refreshExtra, 5000);
refreshSoon();
connect();
