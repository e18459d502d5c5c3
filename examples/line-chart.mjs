// A small line chart rendered to PNG with pngjs (no browser, no canvas): axes, ticks with
// labels in a 5x7 pixel font, one polyline per series, a legend. Enough for a loss curve.
import { PNG } from 'pngjs';

// 5x7 glyphs, one string of 7 rows of 5 bits each.
const GLYPHS = {
  0: '01110 10001 10011 10101 11001 10001 01110',
  1: '00100 01100 00100 00100 00100 00100 01110',
  2: '01110 10001 00001 00010 00100 01000 11111',
  3: '11110 00001 00001 01110 00001 00001 11110',
  4: '00010 00110 01010 10010 11111 00010 00010',
  5: '11111 10000 11110 00001 00001 10001 01110',
  6: '00110 01000 10000 11110 10001 10001 01110',
  7: '11111 00001 00010 00100 01000 01000 01000',
  8: '01110 10001 10001 01110 10001 10001 01110',
  9: '01110 10001 10001 01111 00001 00010 01100',
  '.': '00000 00000 00000 00000 00000 01100 01100',
  '-': '00000 00000 00000 11111 00000 00000 00000',
  ' ': '00000 00000 00000 00000 00000 00000 00000',
  '(': '00010 00100 01000 01000 01000 00100 00010',
  ')': '01000 00100 00010 00010 00010 00100 01000',
  ',': '00000 00000 00000 00000 01100 00100 01000',
  A: '01110 10001 10001 11111 10001 10001 10001',
  B: '11110 10001 10001 11110 10001 10001 11110',
  C: '01110 10001 10000 10000 10000 10001 01110',
  D: '11100 10010 10001 10001 10001 10010 11100',
  E: '11111 10000 10000 11110 10000 10000 11111',
  F: '11111 10000 10000 11110 10000 10000 10000',
  G: '01110 10001 10000 10111 10001 10001 01111',
  H: '10001 10001 10001 11111 10001 10001 10001',
  I: '01110 00100 00100 00100 00100 00100 01110',
  J: '00111 00010 00010 00010 00010 10010 01100',
  K: '10001 10010 10100 11000 10100 10010 10001',
  L: '10000 10000 10000 10000 10000 10000 11111',
  M: '10001 11011 10101 10101 10001 10001 10001',
  N: '10001 10001 11001 10101 10011 10001 10001',
  O: '01110 10001 10001 10001 10001 10001 01110',
  P: '11110 10001 10001 11110 10000 10000 10000',
  R: '11110 10001 10001 11110 10100 10010 10001',
  S: '01111 10000 10000 01110 00001 00001 11110',
  T: '11111 00100 00100 00100 00100 00100 00100',
  U: '10001 10001 10001 10001 10001 10001 01110',
  V: '10001 10001 10001 10001 10001 01010 00100',
  W: '10001 10001 10001 10101 10101 10101 01010',
  X: '10001 10001 01010 00100 01010 10001 10001',
  Y: '10001 10001 01010 00100 00100 00100 00100',
};

/** Tick values: about `n` round numbers covering [lo, hi]. */
function ticks(lo, hi, n) {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const label = (v) =>
  Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : String(Number(v.toPrecision(3)));

/**
 * Renders series of y values (x = index + 1, or `xs`) to a PNG buffer.
 * @param {{series: {values: number[], color: [number, number, number], name: string, width?: number}[],
 *          xs?: number[], width?: number, height?: number, title?: string, xLabel?: string, yLabel?: string}} chart
 */
export function renderLineChart({ series, xs, width = 800, height = 450, title = '', xLabel = '', yLabel = '' }) {
  const png = new PNG({ width, height });
  png.data.fill(255);
  const set = (x, y, [r, g, b]) => {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (y * width + x) * 4;
    png.data[i] = r;
    png.data[i + 1] = g;
    png.data[i + 2] = b;
    png.data[i + 3] = 255;
  };
  const text = (s, x, y, color = [0, 0, 0], scale = 2) => {
    for (const ch of s.toUpperCase()) {
      const g = GLYPHS[ch] ?? GLYPHS[' '];
      g.split(' ').forEach((row, r) =>
        [...row].forEach((bit, c) => {
          if (bit === '1')
            for (let dy = 0; dy < scale; dy++)
              for (let dx = 0; dx < scale; dx++) set(x + c * scale + dx, y + r * scale + dy, color);
        }),
      );
      x += 6 * scale;
    }
  };
  const textWidth = (s, scale = 2) => s.length * 6 * scale;
  const line = (x0, y0, x1, y1, color, thick = 1) => {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1) * 2;
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let d = 0; d < thick; d++) set(x, y + d - Math.floor(thick / 2), color);
    }
  };

  const left = 90;
  const right = width - 20;
  const top = title ? 50 : 20;
  const bottom = height - 60;
  const all = series.flatMap((s) => s.values.filter(Number.isFinite));
  const yTicks = ticks(Math.min(...all), Math.max(...all), 6);
  const yLo = Math.min(yTicks[0], ...all);
  const yHi = Math.max(yTicks[yTicks.length - 1], ...all);
  const n = Math.max(...series.map((s) => s.values.length));
  const xv = xs ?? Array.from({ length: n }, (_, i) => i + 1);
  const xLo = xv[0];
  const xHi = xv[xv.length - 1] === xLo ? xLo + 1 : xv[xv.length - 1];
  const px = (x) => left + ((x - xLo) / (xHi - xLo)) * (right - left);
  const py = (y) => bottom - ((y - yLo) / (yHi - yLo || 1)) * (bottom - top);

  if (title) text(title, (width - textWidth(title)) / 2, 15);
  for (const t of yTicks) {
    line(left, py(t), right, py(t), [230, 230, 230]);
    const s = label(t);
    text(s, left - 8 - textWidth(s), py(t) - 7);
  }
  for (const t of ticks(xLo, xHi, 8)) {
    line(px(t), top, px(t), bottom, [235, 235, 235]);
    const s = label(t);
    text(s, px(t) - textWidth(s) / 2, bottom + 8);
  }
  line(left, top, left, bottom, [0, 0, 0]);
  line(left, bottom, right, bottom, [0, 0, 0]);
  if (xLabel) text(xLabel, (left + right - textWidth(xLabel)) / 2, height - 25);
  if (yLabel) text(yLabel, 8, top - 2 - (title ? 0 : 0));

  for (const s of series) {
    let prev = null;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const p = [px(xv[i]), py(v)];
      if (prev) line(prev[0], prev[1], p[0], p[1], s.color, s.width ?? 1);
      prev = p;
    });
  }
  let ly = top + 10;
  for (const s of series) {
    const lx = right - 20 - Math.max(...series.map((q) => textWidth(q.name))) - 40;
    line(lx, ly + 7, lx + 30, ly + 7, s.color, 3);
    text(s.name, lx + 40, ly);
    ly += 22;
  }
  return PNG.sync.write(png);
}
