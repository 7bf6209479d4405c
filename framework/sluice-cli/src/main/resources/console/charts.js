// Live charts drawn with uPlot (bundled in the jar from its WebJar).
import uPlot from '/vendor/uplot/uPlot.esm.js';

const COLORS = { backlog: '#2b6cb0', window: '#c53030', credits_available: '#1e8a4c',
  producers_waiting: '#b7791f', in_flight: '#805ad5', service_rate: '#2c7a7b', dead_letters: '#718096' };

const LABELS = { backlog: 'backlog', window: 'window', credits_available: 'credits available',
  producers_waiting: 'producers waiting', in_flight: 'in flight', service_rate: 'msg/s',
  dead_letters: 'dead letters' };

/** The two charts of a queue: backlog against its window, and throughput. */
export const BACKLOG = { title: 'Backlog against window', keys: ['backlog', 'window', 'credits_available'] };
export const THROUGHPUT = { title: 'Throughput (msg/s)', keys: ['service_rate'] };

/**
 * A line chart of some series of a queue's history ({t: [unix s], backlog: [...], ...}) in el.
 * Returns {set(history), destroy()}.
 */
export function chart(el, spec, history) {
  const series = [{}].concat(spec.keys.map(k => ({
    label: LABELS[k],
    stroke: COLORS[k],
    width: k === 'window' ? 2 : 1.5,
    fill: k === 'backlog' ? 'rgba(43,108,176,0.12)' : undefined,
    paths: k === 'window' ? uPlot.paths.stepped({ align: 1 }) : undefined,
    value: (u, v) => (v === null || v === undefined ? '-' : (k === 'service_rate' ? v.toFixed(2) : v)),
  })));
  const opts = {
    title: spec.title,
    width: Math.max(260, el.clientWidth || 400),
    height: 190,
    series,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{}, { size: 50 }],
    legend: { live: true },
  };
  const u = new uPlot(opts, data(spec, history), el);
  const resize = () => u.setSize({ width: Math.max(260, el.clientWidth || 400), height: 190 });
  window.addEventListener('resize', resize);
  return {
    set(h) { u.setData(data(spec, h)); },
    destroy() { window.removeEventListener('resize', resize); u.destroy(); },
  };
}

function data(spec, h) {
  const t = h && h.t ? h.t : [];
  return [t].concat(spec.keys.map(k => (h && h[k]) ? h[k] : t.map(() => null)));
}
