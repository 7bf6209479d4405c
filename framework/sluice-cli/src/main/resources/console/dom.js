// Small DOM helpers. Every text from the server goes in as text (textContent), never as HTML.

/** Creates an element: h('a', {href: '#/'}, 'text', child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table: columns [{label, num}] and rows of cells (a cell is a value or a Node). */
export function table(columns, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, columns.map(c => h('th', { class: c.num ? 'num' : null }, c.label)))),
    h('tbody', {}, rows));
}

export function row(columns, cells, attrs = {}) {
  return h('tr', attrs, cells.map((c, i) => h('td', { class: columns[i] && columns[i].num ? 'num' : null }, show(c))));
}

/** A value for display: '-' for null. */
export function show(v) {
  if (v === null || v === undefined) return '-';
  return v;
}

export function badge(word) {
  return h('span', { class: 'badge ' + word }, word);
}

/** 1234 ms -> "1.2s", 90000 -> "1m30s". */
export function age(ms) {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return ms + 'ms';
  const s = Math.floor(ms / 1000);
  if (s < 60) return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm' + (s % 60 ? (s % 60) + 's' : '');
  const hh = Math.floor(m / 60);
  return hh + 'h' + (m % 60 ? (m % 60) + 'm' : '');
}

export function rate(v) {
  return v === null || v === undefined ? '-' : Number(v).toFixed(2);
}

export function queueLink(q) {
  return h('a', { href: '#/queue/' + encodeURIComponent(q) }, q);
}
