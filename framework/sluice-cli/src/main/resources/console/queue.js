// One queue: its figures and charts, what explain finds, its workers and adverts, its producers
// and the reconciler's last audit.
import { get, q as qpath } from './api.js';
import { h, fill, table, row, badge, age, rate } from './dom.js';
import { chart, BACKLOG, THROUGHPUT } from './charts.js';

const FIGURES = [
  ['backlog', 'Backlog'], ['in_flight', 'In flight'], ['window', 'Window'], ['standing_buffer', 'Standing buffer'],
  ['tokens', 'Tokens'], ['credits_available', 'Credits available'], ['held', 'Held by producers'],
  ['producers_waiting', 'Producers waiting'], ['live_producers', 'Live producers'], ['live_workers', 'Live workers'], ['failing_workers', 'Failing workers'],
  ['service_rate', 'Throughput (msg/s)'], ['redeliveries', 'Redeliveries'], ['dead_letters', 'Dead letters'],
  ['hard_limit', 'Hard limit'], ['consumer', 'Worker consumer'], ['pushback', 'Pushback'],
];

// A figure's text: the pushback object (PROTOCOL.md §15.1) as its sentence, '-' when none.
function figure(st, k) {
  if (k === 'service_rate') return rate(st[k]);
  if (k === 'pushback') return st[k] ? st[k].text : '-';
  return st[k] ?? '-';
}

// A worker's capacity, as "3 of 16 (pushback)" while lowered by pushback.
function capacity(v) {
  return v.lowered_by_pushback ? v.capacity + ' of ' + v.nominal_capacity + ' (pushback)' : v.capacity;
}

const WORKERS = [
  { label: 'Worker' }, { label: 'State' }, { label: 'Capacity', num: true }, { label: 'In flight', num: true },
  { label: 'Service rate', num: true }, { label: 'Handles' }, { label: 'Protocol', num: true }, { label: 'Language' },
  { label: 'Owed credits', num: true }, { label: 'Completed', num: true }, { label: 'Last seen' },
];

// Fairness keys of the live producers (PROTOCOL.md §15.3), from the credits JSON; none without keys.
const FAIRNESS = [
  { label: 'Fairness key' }, { label: 'Weight' }, { label: 'Waiting', num: true }, { label: 'Granted', num: true },
  { label: 'Share', num: true },
];

function fairness(f) {
  if (!f) return null;
  return h('div', { id: 'fairness' }, h('h3', {}, 'Fairness keys'),
    table(FAIRNESS, f.keys.slice(0, 10).map(k => row(FAIRNESS, [k.key === '' ? '(no key)' : k.key,
      k.weights.join(', '), k.waiting, k.granted_total, (k.share * 100).toFixed(1) + ' %']))),
    f.dominant !== null ? h('p', {}, h('b', {}, f.dominant === '' ? '(no key)' : f.dominant),
      ' holds most of the waiting sends; the other keys are served by weight beside it.') : null);
}

const PRODUCERS = [
  { label: 'Producer' }, { label: 'Live' }, { label: 'Held spent', num: true }, { label: 'Held unspent', num: true },
  { label: 'Waiting', num: true }, { label: 'Sent', num: true }, { label: 'Language' }, { label: 'Last seen' },
];

// The workers whose advert carries a problem (PROTOCOL.md §5.2): each problem line as text.
function problems(ws) {
  const failing = ws.filter(v => v.problem);
  if (failing.length === 0) return null;
  return h('div', { class: 'card problems', id: 'worker-problems' }, failing.map(v =>
    h('div', { class: 'problem', dataset: { worker: v.worker_id } },
      h('b', {}, v.worker_id + ' reports itself failing:'),
      h('ul', {}, v.problem.split('\n').filter(l => l).map(l => h('li', {}, l))))));
}

// The queue's fleet-wide rate limit (PROTOCOL.md §15.2), from status's rate_limit; none without one.
function rateLimit(r) {
  if (!r) return [];
  const unlimited = r.unlimited_workers || [];
  const more = (r.bottleneck ? ' (the bottleneck now)' : '') +
    (unlimited.length ? '; ' + unlimited.length + ' worker(s) replenish without the limit: ' + unlimited.join(', ') : '');
  return [h('div', { id: 'rate-limit' }, h('span', {}, 'Rate limit'), h('b', {}, r.text + more))];
}

function handles(a) {
  return a.handled.map(t => t.type + '@' + (t.min_version === t.max_version ? t.min_version : t.min_version + '-' + t.max_version)).join(', ');
}

export function render(view, params, store) {
  const name = params.queue;
  const title = h('h1', {}, 'Queue ', name, ' ');
  const figures = h('div', { class: 'kv', id: 'figures' });
  const a = h('div', { class: 'chart backlog-chart' });
  const b = h('div', { class: 'chart throughput-chart' });
  const findings = h('div', { id: 'findings' }, h('p', { class: 'muted' }, 'Asking explain…'));
  const workers = h('div', { id: 'workers' }, h('p', { class: 'muted' }, 'Loading…'));
  const producers = h('div', { id: 'producers' });
  const reconciler = h('div', { id: 'reconciler' });
  fill(view, title,
    h('p', {}, h('a', { href: '#/dlq/' + encodeURIComponent(name) }, 'Dead letters of ' + name), ' · ', h('a', { href: '#/' }, 'All queues')),
    figures, h('div', { class: 'charts card' }, a, b),
    h('h2', {}, 'What explain finds'), findings,
    h('h2', {}, 'Workers'), workers,
    h('h2', {}, 'Producers'), producers,
    h('h2', {}, 'Reconciler'), reconciler);
  const ca = chart(a, BACKLOG, store.history[name]);
  const cb = chart(b, THROUGHPUT, store.history[name]);
  let lastDetail = 0;
  let loading = false;

  async function details() {
    if (loading) return;
    loading = true;
    lastDetail = Date.now();
    try {
      const [w, c, x] = await Promise.all([
        get(qpath(name) + '/workers'), get(qpath(name) + '/credits'), get(qpath(name) + '/explain')]);
      fill(findings, x.findings.length === 0 ? h('p', {}, badge(x.health), ' nothing wrong found')
        : h('ol', { class: 'findings' }, x.findings.map(f => h('li', {},
          h('b', {}, '[' + f.code + '] '), f.summary, h('br'), h('span', { class: 'muted' }, 'What to do: '), f.action))));
      fill(workers, w.workers.length === 0 ? h('p', { class: 'muted' }, 'No live worker advertises capacity for this queue.')
        : table(WORKERS, w.workers.map(v => row(WORKERS, [v.worker_id,
          h('span', {}, badge(v.state), v.problem ? [' ', badge('failing')] : null), capacity(v), v.in_flight,
          rate(v.service_rate), handles(v), v.protocol_version, v.language, v.owed_credits, v.completed_total,
          age(v.last_seen_ms_ago) + ' ago'], { dataset: { worker: v.worker_id } })), { id: 'workers-table' }),
        problems(w.workers));
      const cr = c.queues[0];
      fill(producers, cr.producers.length === 0 ? h('p', { class: 'muted' }, 'No producer reports.')
        : table(PRODUCERS, cr.producers.map(p => row(PRODUCERS, [p.producer_id, p.live ? 'yes' : 'expired',
          p.held_spent, p.held_unspent, p.waiting, p.sent_total, p.language, age(p.last_seen_ms_ago) + ' ago']))),
        fairness(cr.fairness));
      const r = cr.reconciler;
      if (!r) {
        fill(reconciler, h('p', { class: 'muted' }, 'No lease: no worker has audited this queue.'));
      } else {
        const l = r.last_audit;
        fill(reconciler, h('p', {}, 'Lease held by ', h('b', {}, r.holder),
          r.expires_in_ms >= 0 ? ', expires in ' + age(r.expires_in_ms) : ', expired ' + age(-r.expires_in_ms) + ' ago',
          ', previous deficit ' + r.previous_deficit + '.'),
        l ? h('div', { class: 'kv' }, [['window', 'W window'], ['backlog', 'B backlog'], ['tokens', 'T tokens'],
          ['held_spent', 'S held spent'], ['owed', 'O owed'], ['deficit', 'd deficit'], ['minted', 'minted'],
          ['burned', 'burned'], ['live_workers', 'live workers'], ['live_producers', 'live producers']].map(([k, label]) =>
          h('div', {}, h('span', {}, label), h('b', {}, String(l[k]))))
          .concat([h('div', {}, h('span', {}, 'audited'), h('b', {}, age(Date.now() - l.audit_unix_ms) + ' ago'))]))
          : h('p', { class: 'muted' }, 'No audit yet.'));
      }
    } catch (e) {
      fill(findings, h('p', { class: 'error-text' }, e.message));
    } finally {
      loading = false;
    }
  }

  function update() {
    const st = store.status && store.status.queues.find(x => x.queue === name);
    if (!st) {
      fill(figures, h('p', { class: 'error-text' }, store.status ? 'Queue ' + name + ' does not exist on ' + store.status.server + '.' : 'Waiting…'));
      return;
    }
    fill(title, 'Queue ' + name + ' ', badge(st.health));
    fill(figures, FIGURES.map(([k, label]) => h('div', {}, h('span', {}, label), h('b', {}, String(figure(st, k)))))
      .concat(rateLimit(st.rate_limit)));
    ca.set(store.history[name]);
    cb.set(store.history[name]);
    if (store.connected && Date.now() - lastDetail > 3000) details();
  }

  return { update, destroy() { ca.destroy(); cb.destroy(); } };
}
