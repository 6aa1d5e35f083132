// Dependency-free SVG charts: line charts (curves) and horizontal bar charts (tables).

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(Math.abs(v) < 1 ? 2 : 1);
}

export function lineChart(opts: { title: string; xLabel: string; yLabel: string; series: Series[]; yMax?: number; width?: number; height?: number }): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 400;
  const m = { l: 64, r: 180, t: 40, b: 52 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = opts.series.flatMap((s) => s.points.map((p) => p[0])).filter(Number.isFinite);
  const ys = opts.series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs) : 1;
  const y1 = opts.yMax ?? niceMax(ys.length ? Math.max(...ys) : 1);
  const sx = (x: number) => m.l + (x1 === x0 ? pw / 2 : ((x - x0) / (x1 - x0)) * pw);
  const sy = (y: number) => m.t + ph - (Math.max(0, Math.min(y, y1)) / y1) * ph;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  o.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = (y1 * i) / 5;
    o.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${sy(y)}" y2="${sy(y)}" stroke="#ddd"/>`);
    o.push(`<text x="${m.l - 6}" y="${sy(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  }
  const xt = [...new Set(xs)].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(xt.length / 10));
  xt.forEach((x, i) => {
    if (i % step === 0 || i === xt.length - 1) o.push(`<text x="${sx(x)}" y="${m.t + ph + 18}" text-anchor="middle">${fmt(x)}</text>`);
  });
  o.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#000"/>`);
  o.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#000"/>`);
  o.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  o.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  opts.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (pts.length) o.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) o.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3" fill="${c}"/>`);
    const ly = m.t + 10 + i * 18;
    o.push(`<line x1="${m.l + pw + 12}" x2="${m.l + pw + 32}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    o.push(`<text x="${m.l + pw + 36}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}

export function barChart(opts: { title: string; xLabel: string; bars: Array<{ label: string; value: number }>; width?: number }): string {
  const W = opts.width ?? 640;
  const rowH = 22;
  const m = { l: 300, r: 60, t: 40, b: 40 };
  const H = m.t + m.b + rowH * opts.bars.length;
  const pw = W - m.l - m.r;
  const vmax = niceMax(Math.max(0, ...opts.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0))));
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  o.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  opts.bars.forEach((b, i) => {
    const y = m.t + i * rowH;
    const v = Number.isFinite(b.value) ? Math.max(0, b.value) : 0;
    const w = (v / vmax) * pw;
    o.push(`<text x="${m.l - 6}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(b.label)}</text>`);
    o.push(`<rect x="${m.l}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[i % COLORS.length]}"/>`);
    o.push(`<text x="${m.l + w + 4}" y="${y + rowH / 2 + 4}">${fmt(b.value)}</text>`);
  });
  o.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#000"/>`);
  o.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  o.push('</svg>');
  return o.join('\n') + '\n';
}

/** Markdown table from a header and rows. */
export function mdTable(header: string[], rows: Array<Array<string | number>>): string {
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '–') : v.replace(/\|/g, '\\|'));
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n') + '\n';
}
