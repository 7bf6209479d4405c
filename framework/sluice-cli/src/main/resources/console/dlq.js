// The dead-letter browser: filter by reason and type, show a record with its headers and payload,
// replay one or every shown record, purge a queue's dead letters.
import { get, post, q as qpath } from './api.js';
import { h, fill, table, row, age, show } from './dom.js';

const COLUMNS = [
  { label: 'Seq', num: true }, { label: 'Queue' }, { label: 'Reason' }, { label: 'Attempts', num: true },
  { label: 'Age' }, { label: 'Type' }, { label: 'Message id' }, { label: 'Error' }, { label: '' },
];

export function render(view, params, store) {
  const queue = params.queue;
  const writes = store.console.allow_writes;
  const reason = h('select', { id: 'reason' }, h('option', { value: '' }, 'any reason'),
    store.console.dlq_reasons.map(r => h('option', { value: r }, r)));
  reason.value = params.query.get('reason') || '';
  const type = h('input', { id: 'type', placeholder: 'any type', value: params.query.get('type') || '' });
  const result = h('div', { id: 'dlq-result', 'aria-live': 'polite' });
  const list = h('div', { id: 'dlq-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const detail = h('div', { id: 'dlq-detail' });
  const replayAll = h('button', { id: 'replay-shown', disabled: !writes || !queue, onclick: replayShown }, 'Replay the records shown');
  const purge = h('button', { id: 'purge', class: 'danger', disabled: !writes || !queue, onclick: purgeAll }, 'Purge every dead letter of ' + (queue || 'a queue'));
  const readOnly = writes ? null : h('span', { class: 'muted' }, 'Read-only: start sluice ui with --allow-writes to replay or purge.');
  fill(view,
    h('h1', {}, 'Dead letters', queue ? ' of ' + queue : ' of every queue'),
    queue ? h('p', {}, h('a', { href: '#/queue/' + encodeURIComponent(queue) }, 'Queue ' + queue), ' · ', h('a', { href: '#/dlq' }, 'Every queue')) : null,
    h('div', { class: 'toolbar' }, reason, type, h('button', { id: 'filter', onclick: applyFilter }, 'Filter'), replayAll, purge, readOnly),
    result, detail, list);
  let shown = [];
  let lastCount = null;
  let selected = null;
  let lastKey = null;

  function applyFilter() {
    const p = new URLSearchParams();
    if (reason.value) p.set('reason', reason.value);
    if (type.value.trim()) p.set('type', type.value.trim());
    const s = p.toString();
    location.hash = '#/dlq' + (queue ? '/' + encodeURIComponent(queue) : '') + (s ? '?' + s : '');
  }

  function say(text, error) {
    fill(result, h('p', { class: 'result' + (error ? ' error' : '') }, text));
  }

  async function load() {
    const p = new URLSearchParams();
    if (reason.value) p.set('reason', reason.value);
    if (type.value.trim()) p.set('type', type.value.trim());
    const base = queue ? qpath(queue) + '/dlq' : '/api/dlq';
    try {
      const doc = await get(base + (p.toString() ? '?' + p : ''));
      // Redraw only when the records changed, so that a click is not lost to a redraw.
      const key = JSON.stringify(doc.dead_letters) + '|' + selected;
      if (key === lastKey && list.querySelector('table, p')) return;
      lastKey = key;
      shown = doc.dead_letters;
      const now = Date.now();
      fill(list, shown.length === 0 ? h('p', { class: 'muted', id: 'dlq-empty' }, 'No dead letters match.')
        : table(COLUMNS, shown.map(r => row(COLUMNS, [
          r.dlq_seq, r.queue, r.reason, r.attempts, r.at_unix_ms ? age(now - r.at_unix_ms) : '-',
          show(r.type) + '@' + show(r.type_version),
          r.original_msg_id ? h('a', { href: '#/message/' + encodeURIComponent(r.original_msg_id) }, r.original_msg_id) : '-',
          short(r.error),
          h('span', {}, h('button', { class: 'show', onclick: () => open(r) }, 'Show'), ' ',
            h('button', { class: 'replay', disabled: !writes, onclick: () => replayOne(r) }, 'Replay')),
        ], { dataset: { seq: r.dlq_seq }, class: selected === r.dlq_seq ? 'selected' : null })), { id: 'dlq-table' }));
      replayAll.textContent = 'Replay the ' + shown.length + ' records shown';
      replayAll.disabled = !writes || !queue || shown.length === 0;
    } catch (e) {
      fill(list, h('p', { class: 'error-text' }, e.message));
    }
  }

  async function open(r) {
    selected = r.dlq_seq;
    try {
      const d = await get(qpath(r.queue) + '/dlq/' + r.dlq_seq);
      fill(detail, h('h2', {}, 'Dead letter ', String(d.dlq_seq)),
        h('div', { class: 'kv' }, ['queue', 'reason', 'attempts', 'original_msg_id', 'type', 'type_version', 'worker', 'stream_seq', 'traceparent']
          .map(k => h('div', {}, h('span', {}, k), h('b', {}, String(show(d[k])))))),
        h('h3', {}, 'Error'), h('pre', { class: 'error' }, show(d.error)),
        h('h3', {}, 'Headers'), table([{ label: 'Header' }, { label: 'Value' }],
          Object.entries(d.headers).map(([k, v]) => row([{}, {}], [k, Array.isArray(v) ? v.join(', ') : v]))),
        h('h3', {}, 'Payload (' + d.size + ' bytes, ' + d.payload_encoding + ')'), h('pre', { id: 'payload' }, d.payload),
        h('p', {}, h('button', { onclick: () => { selected = null; fill(detail); load(); } }, 'Close')));
    } catch (e) {
      fill(detail, h('p', { class: 'error-text' }, e.message));
    }
    load();
  }

  async function replayOne(r) {
    try {
      const doc = await post(qpath(r.queue) + '/dlq/replay', { seq: r.dlq_seq });
      const x = doc.records[0];
      say('Replayed dead letter ' + x.dlq_seq + ' to queue ' + x.queue + ' as work message ' + x.work_seq + ' (id ' + x.replay_msg_id + ').');
    } catch (e) {
      say('Replay failed: ' + e.message, true);
    }
    load();
  }

  async function replayShown() {
    if (!confirm('Replay ' + shown.length + ' dead letters of ' + queue + '?')) return;
    const body = reason.value ? { reason: reason.value } : { all: true };
    if (type.value.trim()) body.type = type.value.trim();
    try {
      const doc = await post(qpath(queue) + '/dlq/replay', body);
      say('Replayed ' + doc.replayed + ' dead letters of ' + queue + '.');
    } catch (e) {
      say('Replay stopped: ' + e.message + (e.body && e.body.replayed ? ' (' + e.body.replayed + ' replayed before)' : ''), true);
    }
    load();
  }

  async function purgeAll() {
    if (!confirm('Delete every dead letter of ' + queue + '? This cannot be undone.')) return;
    try {
      const doc = await post(qpath(queue) + '/dlq/purge', {});
      say('Purged ' + doc.purged + ' dead letters of ' + queue + '.');
    } catch (e) {
      say('Purge failed: ' + e.message, true);
    }
    load();
  }

  function update() {
    const qs = store.status ? store.status.queues : [];
    const count = qs.filter(x => !queue || x.queue === queue).map(x => x.dead_letters || 0).reduce((a, b) => a + b, 0);
    if (count !== lastCount) {
      lastCount = count;
      load();
    }
  }

  load();
  return { update };
}

function short(s) {
  if (!s) return '-';
  return s.length > 80 ? s.slice(0, 80) + '…' : s;
}
