// switchyard dashboard: polls /api/stats once a second with the admin token kept in
// sessionStorage (never localStorage: the token should die with the tab), and draws the
// cluster figures of the last five minutes with uPlot. No framework, no build step.
(() => {
  'use strict';
  const TOKEN_KEY = 'switchyard.adminToken';
  const POLL_MS = 1000;
  const WINDOW_S = 300;
  const PALETTE = ['#4fb3ff', '#5fd38d', '#ffb74f', '#ff6b6b', '#c58bff', '#4fe3d6', '#ffd84f', '#ff8bd0'];
  // Headline figures, in this order; other groups still get charts as soon as a module registers them.
  const CARDS = [
    ['instances', 'instances'],
    ['connections', 'connections'],
    ['rooms', 'rooms'],
    ['docs.loaded', 'documents loaded'],
    ['tasks.running', 'tasks running'],
    ['jobs.active', 'jobs active'],
    ['jobs.queued', 'jobs queued'],
    ['pool.utilization', 'pool utilisation'],
    ['actors.active', 'actors'],
    ['sweep.lastMs', 'last sweep ms'],
    ['eventLoop.p99Ms', 'loop lag p99 ms'],
    ['usage.models', 'models in use'],
  ];
  const CHART_ORDER = ['instances', 'connections', 'rooms', 'docs', 'tasks', 'jobs', 'pool', 'actors', 'sweep', 'eventLoop', 'lease', 'usage', 'sessions', 'process'];
  const TITLES = { eventLoop: 'event-loop lag (ms)', sweep: 'usage sweep', docs: 'documents', pool: 'thread pool', usage: 'usage pool' };

  const $ = (sel) => document.querySelector(sel);
  const status = $('#status');
  const input = $('#token');
  const main = $('#main');

  /** Time series: t in epoch seconds, one value array per cluster key. */
  let t = [];
  let series = {};
  const charts = new Map(); // group -> { plot, keys, el }
  let timer = null;
  let generation = 0;

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = kind || '';
  }

  function groupOf(key) {
    const dot = key.indexOf('.');
    return dot < 0 ? key : key.slice(0, dot);
  }

  function trim() {
    const cut = Date.now() / 1000 - WINDOW_S;
    let n = 0;
    while (n < t.length && t[n] < cut) n++;
    if (n > 0) {
      t = t.slice(n);
      for (const k of Object.keys(series)) series[k] = series[k].slice(n);
    }
  }

  function append(at, values) {
    const len = t.length;
    t.push(at);
    for (const [k, v] of Object.entries(values)) {
      if (!series[k]) series[k] = new Array(len).fill(null);
    }
    for (const k of Object.keys(series)) series[k].push(k in values ? values[k] : null);
  }

  function loadHistory(history) {
    t = history.t.slice();
    series = {};
    for (const [k, v] of Object.entries(history.series)) series[k] = v.slice();
  }

  function chartFor(group, keys) {
    const existing = charts.get(group);
    if (existing && existing.keys.join() === keys.join()) return existing;
    if (existing) {
      existing.plot.destroy();
      existing.el.remove();
    }
    const el = document.createElement('div');
    el.className = 'chart';
    el.dataset.chart = group;
    const container = $('#charts');
    // Keep a stable order: known groups first, then the rest alphabetically.
    const rank = (g) => (CHART_ORDER.indexOf(g) < 0 ? CHART_ORDER.length : CHART_ORDER.indexOf(g));
    const after = [...container.children].find((c) => rank(c.dataset.chart) > rank(group) || (rank(c.dataset.chart) === rank(group) && c.dataset.chart > group));
    container.insertBefore(el, after || null);
    const width = Math.max(300, el.clientWidth - 8 || 430);
    const plot = new uPlot(
      {
        title: TITLES[group] || group,
        width,
        height: 180,
        scales: { x: { time: true } },
        axes: [{ stroke: '#8a96a3', grid: { stroke: '#24303c' } }, { stroke: '#8a96a3', grid: { stroke: '#24303c' } }],
        series: [{}, ...keys.map((k, i) => ({ label: k, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false }))],
      },
      [t, ...keys.map((k) => series[k])],
      el,
    );
    const entry = { plot, keys, el };
    charts.set(group, entry);
    return entry;
  }

  function drawCharts() {
    const groups = new Map();
    for (const k of Object.keys(series).sort()) {
      const g = groupOf(k);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(k);
    }
    for (const [g, keys] of groups) {
      const entry = chartFor(g, keys);
      entry.plot.setData([t, ...keys.map((k) => series[k])]);
    }
  }

  function fmt(v) {
    if (v === undefined || v === null) return '–';
    return Number.isInteger(v) ? String(v) : v.toFixed(2);
  }

  function drawCards(cluster) {
    const box = $('#cards');
    for (const [key, label] of CARDS) {
      if (!(key in cluster)) continue;
      let card = box.querySelector(`[data-stat="${key}"]`);
      if (!card) {
        card = document.createElement('div');
        card.className = 'card';
        card.dataset.stat = key;
        const l = document.createElement('div');
        l.className = 'label';
        l.textContent = label;
        const v = document.createElement('div');
        v.className = 'value';
        card.append(l, v);
        box.append(card);
      }
      card.querySelector('.value').textContent = fmt(cluster[key]);
    }
  }

  function drawLease(view) {
    const el = $('#lease');
    el.textContent = '';
    const add = (text, bold) => {
      const node = bold ? document.createElement('b') : document.createTextNode(text);
      if (bold) node.textContent = text;
      el.append(node);
    };
    if (view.lease) {
      add('cleanup lease held by ');
      add(view.lease.holder, true);
      add(` · fence ${view.lease.fence} · ttl ${Math.round(view.lease.ttlMs / 1000)} s`);
    } else {
      add('cleanup lease: nobody holds it right now');
    }
    add(` · coordination ${view.coordination} · answered by ${view.instanceId}`);
  }

  function drawInstances(instances) {
    const body = $('#instances tbody');
    body.textContent = '';
    const now = Date.now();
    for (const i of instances) {
      const s = i.stats || {};
      const cells = [
        i.instanceId + (i.self ? ' (this)' : ''),
        i.host,
        i.pid,
        `${Math.round((now - i.startedAt) / 1000)} s`,
        fmt(s.connections),
        fmt(s.rooms),
        fmt(s['actors.active']),
        fmt(s['eventLoop.p99Ms']),
        s['lease.leader'] ? 'yes' : '',
        i.source,
      ];
      const tr = document.createElement('tr');
      tr.dataset.instance = i.instanceId;
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = String(c);
        tr.append(td);
      }
      body.append(tr);
    }
  }

  async function poll(gen, token, withHistory) {
    if (gen !== generation) return;
    let next = true;
    try {
      const res = await fetch(`/api/stats${withHistory ? '?history=1' : ''}`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
      if (gen !== generation) return;
      if (res.status === 401 || res.status === 403) {
        const body = await res.json().catch(() => ({}));
        const reason = body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`;
        setStatus(`Refused (${reason}). An admin token is required.`, 'error');
        main.hidden = true;
        next = false;
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const view = await res.json();
      if (withHistory && view.history) loadHistory(view.history);
      else append(view.at / 1000, view.cluster);
      withHistory = false;
      trim();
      main.hidden = false;
      drawCards(view.cluster);
      drawLease(view);
      drawInstances(view.instances);
      drawCharts();
      setStatus(`Live · ${view.instances.length} instance(s) · updated ${new Date(view.at).toLocaleTimeString()}`, 'live');
    } catch (err) {
      if (gen !== generation) return;
      setStatus(`Cannot reach /api/stats (${err.message}); retrying every second.`, 'error');
      withHistory = true; // refill the gap from the server's history once it answers again
    } finally {
      if (next && gen === generation) timer = setTimeout(() => poll(gen, token, withHistory), POLL_MS);
    }
  }

  function start(token) {
    generation++;
    clearTimeout(timer);
    for (const c of charts.values()) c.plot.destroy();
    charts.clear();
    $('#charts').textContent = '';
    $('#cards').textContent = '';
    t = [];
    series = {};
    setStatus('Connecting…');
    poll(generation, token, true);
  }

  $('#auth').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    start(token);
  });
  $('#forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    input.value = '';
    generation++;
    clearTimeout(timer);
    main.hidden = true;
    setStatus('Token forgotten. Enter an admin token.');
  });
  window.addEventListener('resize', () => {
    for (const c of charts.values()) c.plot.setSize({ width: Math.max(300, c.el.clientWidth - 8), height: 180 });
  });

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    input.value = saved;
    start(saved);
  }
})();
