// One message id found in the dead-letter queue: its trace id and every dead letter of it.
import { get, post, q as qpath } from './api.js';
import { h, fill, table, row, show } from './dom.js';

export function render(view, params, store) {
  const id = params.id;
  const body = h('div', {}, h('p', { class: 'muted' }, 'Looking for ' + id + ' in the dead-letter queue…'));
  const result = h('div', { id: 'message-result' });
  fill(view, h('h1', {}, 'Message ', id), result, body);

  async function load() {
    try {
      const m = await get('/api/messages/' + encodeURIComponent(id));
      fill(body,
        h('div', { class: 'kv' },
          h('div', {}, h('span', {}, 'message id'), h('b', {}, m.msg_id)),
          h('div', {}, h('span', {}, 'trace id'), h('b', { id: 'trace-id' }, show(m.trace_id))),
          h('div', {}, h('span', {}, 'traceparent'), h('b', {}, show(m.traceparent))),
          h('div', {}, h('span', {}, 'dead letters'), h('b', {}, String(m.dead_letters.length)))),
        m.dead_letters.map(d => h('div', { class: 'card', style: 'margin-top:1rem' },
          h('h3', {}, 'Dead letter ' + d.dlq_seq + ' of queue ', h('a', { href: '#/queue/' + encodeURIComponent(d.queue) }, d.queue)),
          h('p', {}, 'Reason ', h('b', {}, show(d.reason)), ' after ' + show(d.attempts) + ' attempts on worker ' + show(d.worker) + '.'),
          h('pre', {}, show(d.error)),
          h('button', { class: 'replay', disabled: !store.console.allow_writes, onclick: () => replay(d) }, 'Replay'),
          h('h3', {}, 'Headers'),
          table([{ label: 'Header' }, { label: 'Value' }], Object.entries(d.headers).map(([k, v]) => row([{}, {}], [k, Array.isArray(v) ? v.join(', ') : v]))),
          h('h3', {}, 'Payload (' + d.size + ' bytes, ' + d.payload_encoding + ')'), h('pre', {}, d.payload))));
    } catch (e) {
      fill(body, h('p', { class: 'error-text' }, e.message));
    }
  }

  async function replay(d) {
    try {
      const doc = await post(qpath(d.queue) + '/dlq/replay', { seq: d.dlq_seq });
      fill(result, h('p', { class: 'result' }, 'Replayed dead letter ' + d.dlq_seq + ' as work message ' + doc.records[0].work_seq + '.'));
    } catch (e) {
      fill(result, h('p', { class: 'result error' }, 'Replay failed: ' + e.message));
    }
    load();
  }

  load();
  return {};
}
