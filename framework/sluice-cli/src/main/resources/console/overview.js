// Every queue: health, backlog, window, credits, waiting producers, throughput, dead letters, and
// live charts of backlog against window and of throughput.
import { h, fill, table, row, badge, rate, queueLink } from './dom.js';
import { chart, BACKLOG, THROUGHPUT } from './charts.js';

const COLUMNS = [
  { label: 'Queue' }, { label: 'Health' }, { label: 'Backlog', num: true }, { label: 'In flight', num: true },
  { label: 'Window', num: true }, { label: 'Credits available', num: true }, { label: 'Producers waiting', num: true },
  { label: 'Workers', num: true }, { label: 'Throughput (msg/s)', num: true }, { label: 'Dead letters', num: true },
];

// The health badge, and beside it how many live workers report themselves failing.
function health(q) {
  const n = q.failing_workers || 0;
  return h('span', {}, badge(q.health), n === 0 ? null : [' ', h('span', {
    class: 'badge failing', title: n + (n === 1 ? ' worker reports itself' : ' workers report themselves')
      + ' failing: the queue page says why' }, n + ' failing')]);
}

export function render(view, params, store) {
  const summary = h('div', { id: 'queues' }, h('p', { class: 'muted' }, 'Waiting for the first sample…'));
  const cards = h('div', { class: 'cards', id: 'queue-charts' });
  fill(view, h('h1', {}, 'Queues'), summary, h('h2', {}, 'Last minutes'), cards);
  const charts = new Map();

  function update() {
    const status = store.status;
    if (!status) return;
    const qs = status.queues;
    if (qs.length === 0) {
      fill(summary, h('p', { class: 'muted' }, 'No Sluice queues on ' + status.server + ' (provision one with sluice apply).'));
    } else {
      fill(summary, table(COLUMNS, qs.map(q => row(COLUMNS, [
        queueLink(q.queue), health(q), q.backlog, q.in_flight, q.window, q.credits_available,
        q.producers_waiting, q.live_workers, rate(q.service_rate),
        h('a', { href: '#/dlq/' + encodeURIComponent(q.queue) }, String(q.dead_letters ?? '-')),
      ], { dataset: { queue: q.queue } })), { id: 'queues-table' }));
    }
    const names = new Set(qs.map(q => q.queue));
    for (const [name, c] of charts) {
      if (!names.has(name)) { c.backlog.destroy(); c.throughput.destroy(); c.card.remove(); charts.delete(name); }
    }
    for (const q of qs) {
      let c = charts.get(q.queue);
      if (!c) {
        const a = h('div', { class: 'chart backlog-chart' });
        const b = h('div', { class: 'chart throughput-chart' });
        const card = h('div', { class: 'card', dataset: { queue: q.queue } }, h('h3', {}, queueLink(q.queue)), h('div', { class: 'charts' }, a, b));
        cards.append(card);
        c = { card, backlog: chart(a, BACKLOG, store.history[q.queue]), throughput: chart(b, THROUGHPUT, store.history[q.queue]) };
        charts.set(q.queue, c);
      } else {
        c.backlog.set(store.history[q.queue]);
        c.throughput.set(store.history[q.queue]);
      }
    }
  }

  return {
    update,
    destroy() { for (const c of charts.values()) { c.backlog.destroy(); c.throughput.destroy(); } },
  };
}
