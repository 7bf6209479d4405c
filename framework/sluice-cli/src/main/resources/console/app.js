// The console's shell: the live feed (Server-Sent Events), the sampled history, the banner and
// the router (#/, #/queue/Q, #/dlq/Q, #/message/ID).
import { get } from './api.js';
import { fill, h } from './dom.js';
import * as overview from './overview.js';
import * as queue from './queue.js';
import * as dlq from './dlq.js';
import * as message from './message.js';

/** What every page reads: the latest status, each queue's history, the console's settings. */
export const store = {
  console: null,
  status: null,
  connected: true,
  error: null,
  history: {},
  maxSamples: 400,
  listeners: new Set(),
};

function notify() {
  for (const f of store.listeners) {
    try { f(); } catch (e) { console.error(e); }
  }
}

function addSample(status) {
  const t = status.time_unix_ms / 1000;
  const seen = new Set();
  for (const q of status.queues) {
    seen.add(q.queue);
    const hq = store.history[q.queue] || (store.history[q.queue] = { t: [] });
    if (hq.t.length && hq.t[hq.t.length - 1] >= t) continue;
    hq.t.push(t);
    for (const k of store.series) {
      (hq[k] || (hq[k] = new Array(hq.t.length - 1).fill(null))).push(q[k] ?? null);
    }
    if (hq.t.length > store.maxSamples) {
      for (const k of Object.keys(hq)) hq[k].shift();
    }
  }
  for (const name of Object.keys(store.history)) if (!seen.has(name)) delete store.history[name];
}

function banner() {
  const b = document.getElementById('banner');
  if (store.streamLost) {
    b.hidden = false;
    b.className = '';
    b.textContent = 'Lost the console (sluice ui stopped or the network dropped); retrying… The figures below are the last known.';
  } else if (!store.connected) {
    b.hidden = false;
    b.className = '';
    b.textContent = 'NATS is unreachable: ' + (store.error || 'reconnecting…') + ' The figures below are the last known.';
  } else if (store.error) {
    b.hidden = false;
    b.className = 'warn';
    b.textContent = 'Cannot read the queues: ' + store.error;
  } else {
    b.hidden = true;
  }
}

function listen() {
  const es = new EventSource('/api/events');
  es.addEventListener('status', ev => {
    const e = JSON.parse(ev.data);
    store.streamLost = false;
    store.server = e.server;
    store.connected = e.connected;
    store.error = e.error || null;
    if (e.status) {
      store.status = e.status;
      addSample(e.status);
    }
    banner();
    notify();
  });
  es.onopen = () => { store.streamLost = false; banner(); };
  es.onerror = () => { store.streamLost = true; banner(); };
}

const ROUTES = [
  [/^#?\/?$/, overview, () => ({})],
  [/^#\/queue\/(.+)$/, queue, m => ({ queue: decodeURIComponent(m[1]) })],
  [/^#\/dlq(?:\/([^?]*))?(?:\?(.*))?$/, dlq, m => ({ queue: m[1] ? decodeURIComponent(m[1]) : null, query: new URLSearchParams(m[2] || '') })],
  [/^#\/message\/(.+)$/, message, m => ({ id: decodeURIComponent(m[1]) })],
];

let current = null;

function route() {
  if (current) {
    store.listeners.delete(current.update);
    if (current.destroy) current.destroy();
    current = null;
  }
  const view = document.getElementById('view');
  const hash = location.hash || '#/';
  for (const [re, page, params] of ROUTES) {
    const m = hash.match(re);
    if (m) {
      fill(view);
      current = page.render(view, params(m), store) || {};
      if (current.update) {
        store.listeners.add(current.update);
        if (store.status) current.update();
      }
      return;
    }
  }
  fill(view, h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Back to the queues')));
}

async function start() {
  try {
    store.console = await get('/api/console');
    const hist = await get('/api/history');
    store.series = hist.series;
    store.maxSamples = Math.max(store.maxSamples, 1 + Math.round(600000 / hist.interval_ms));
    for (const [q, cols] of Object.entries(hist.queues)) {
      store.history[q] = { ...cols, t: cols.t.map(x => x / 1000) };
    }
  } catch (e) {
    fill(document.getElementById('view'), h('p', { class: 'error-text' }, e.message));
    return;
  }
  document.getElementById('server').textContent = store.console.server;
  const mode = document.getElementById('mode');
  mode.textContent = store.console.allow_writes ? 'writes allowed' : 'read-only';
  mode.className = 'badge ' + (store.console.allow_writes ? 'writes' : 'read-only');
  store.server = store.console.server;
  window.addEventListener('hashchange', route);
  listen();
  route();
}

start();
