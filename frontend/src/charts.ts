// Smile, gamma and flow on plain canvas: a small shared axis helper, no chart library (the
// three charts need lines, points and bars on numeric axes; see docs/dashboard.md).
import type { AnomalyEvent, FlowPoint, GexSummary, PnlPoint } from "./data";
import * as fmt from "./fmt";
import { t } from "./i18n";
import { fitCanvas, palette } from "./theme";

interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function extent(values: Iterable<number | null | undefined>, pad = 0.05): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v == null || !Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

abstract class Chart {
  readonly canvas: HTMLCanvasElement;
  protected ctx: CanvasRenderingContext2D;
  protected width = 600;
  protected height = 320;
  private pending = false;
  stale = false;

  constructor(host: HTMLElement, label: string) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "chart";
    this.canvas.setAttribute("role", "img");
    this.canvas.dataset.i18nLabel = label;
    host.append(this.canvas);
    const ctx = this.canvas.getContext("2d");
    if (!ctx) throw new Error("no 2d canvas");
    this.ctx = ctx;
    new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width ?? 600;
      if (w > 0 && Math.abs(w - this.width) > 0.5) {
        this.width = w;
        this.height = Math.max(220, Math.min(420, w * 0.5));
        fitCanvas(this.canvas, this.width, this.height);
        this.invalidate();
      }
    }).observe(host);
    fitCanvas(this.canvas, this.width, this.height);
  }

  invalidate(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (this.canvas.offsetParent === null) return; // hidden tab: drawn when shown
      this.draw();
    });
  }

  protected frame(): Box {
    const p = palette();
    const ctx = this.ctx;
    ctx.fillStyle = p.panel;
    ctx.fillRect(0, 0, this.width, this.height);
    return { x0: 64, x1: this.width - 64, y0: 16, y1: this.height - 44 };
  }

  protected axes(
    b: Box,
    xd: [number, number],
    yd: [number, number],
    xf: (v: number) => string,
    yf: (v: number) => string,
    xTicks?: number[],
  ): void {
    const p = palette();
    const ctx = this.ctx;
    ctx.strokeStyle = p.grid;
    ctx.fillStyle = p.muted;
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const v of niceTicks(yd[0], yd[1])) {
      const y = this.sy(v, b, yd);
      ctx.beginPath();
      ctx.moveTo(b.x0, y);
      ctx.lineTo(b.x1, y);
      ctx.stroke();
      ctx.fillText(yf(v), b.x0 - 6, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const count = Math.max(2, Math.floor((b.x1 - b.x0) / 90));
    for (const v of xTicks ?? niceTicks(xd[0], xd[1], count)) {
      const x = this.sx(v, b, xd);
      ctx.fillText(xf(v), x, b.y1 + 6);
    }
  }

  protected sx(v: number, b: Box, d: [number, number]): number {
    return b.x0 + ((v - d[0]) / (d[1] - d[0])) * (b.x1 - b.x0);
  }
  protected sy(v: number, b: Box, d: [number, number]): number {
    return b.y1 - ((v - d[0]) / (d[1] - d[0])) * (b.y1 - b.y0);
  }

  protected vline(x: number, b: Box, colour: string, label: string, dash = [4, 4], row = 0): void {
    const ctx = this.ctx;
    ctx.strokeStyle = colour;
    ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(x, b.y0);
    ctx.lineTo(x, b.y1);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = colour;
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.textAlign = x > (b.x0 + b.x1) / 2 ? "right" : "left";
    ctx.textBaseline = "top";
    ctx.fillText(label, x + (ctx.textAlign === "right" ? -4 : 4), b.y0 + 2 + row * 14);
  }

  protected line(points: [number, number][], colour: string, width = 2, dash: number[] = []): void {
    if (points.length < 2) return;
    const ctx = this.ctx;
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.setLineDash(dash);
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
  }

  protected empty(text: string): void {
    const ctx = this.ctx;
    ctx.fillStyle = palette().muted;
    ctx.font = "13px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(text, this.width / 2, this.height / 2);
  }

  abstract draw(): void;
}

// ---- smile ---------------------------------------------------------------------------------
export class SmileChart extends Chart {
  rows: (number | null)[][] = []; // [strike, iv_bid, iv_ask, fit_iv, fair]
  spot: number | null = null;
  anomalies: AnomalyEvent[] = [];

  draw(): void {
    const b = this.frame();
    const p = palette();
    if (!this.rows.length) return this.empty(t("ladderEmpty"));
    const xd = extent(this.rows.map((r) => r[0]), 0.02);
    const yd = extent(this.rows.flatMap((r) => [r[1], r[2], r[3]]));
    this.axes(b, xd, yd, fmt.strike, (v) => fmt.pct(v, 0));
    const ctx = this.ctx;
    for (const r of this.rows) {
      const x = this.sx(r[0] as number, b, xd);
      if (r[1] != null && r[2] != null) {
        ctx.strokeStyle = this.stale ? p.stale : p.muted;
        ctx.beginPath();
        ctx.moveTo(x, this.sy(r[1], b, yd));
        ctx.lineTo(x, this.sy(r[2], b, yd));
        ctx.stroke();
      }
      if (r[1] != null) {
        ctx.fillStyle = this.stale ? p.stale : p.sell;
        ctx.fillRect(x - 3, this.sy(r[1], b, yd) - 1, 6, 3); // bid: flat bar
      }
      if (r[2] != null) {
        ctx.fillStyle = this.stale ? p.stale : p.buy;
        const y = this.sy(r[2], b, yd);
        ctx.beginPath(); // ask: triangle
        ctx.moveTo(x - 4, y + 3);
        ctx.lineTo(x + 4, y + 3);
        ctx.lineTo(x, y - 4);
        ctx.fill();
      }
    }
    this.line(
      this.rows.filter((r) => r[3] != null).map((r) => [this.sx(r[0] as number, b, xd), this.sy(r[3] as number, b, yd)]),
      this.stale ? p.stale : p.fit,
      2,
    );
    if (this.spot != null) this.vline(this.sx(this.spot, b, xd), b, p.spot, `${t("spot")} ${fmt.num(this.spot)}`);
    for (const e of this.anomalies) {
      const a = e.anomaly;
      const row = this.rows.find((r) => r[0] === a.strike);
      const iv = row ? (a.side === "buy" ? row[2] : row[1]) ?? row[3] : null;
      if (iv == null) continue;
      const x = this.sx(a.strike, b, xd);
      const y = this.sy(iv, b, yd);
      ctx.strokeStyle = a.side === "buy" ? p.buy : p.sell;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, 8, 0, Math.PI * 2);
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    this.legend([
      [t("smileBid"), p.sell],
      [t("smileAsk"), p.buy],
      [t("smileFit"), p.fit],
      [t("smileAnomaly"), p.highlight],
    ]);
  }

  protected legend(items: [string, string][]): void {
    const ctx = this.ctx;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    let x = this.width < 480 ? 8 : 64; // a phone needs the margin's room too
    const y = this.height - 12;
    // One row: on a phone the Spanish labels overflowed it, so the gaps and then the type
    // shrink until the row fits the canvas.
    let size = 12;
    let gap = 20;
    const room = this.width - x;
    const needed = () =>
      items.reduce((sum, [label]) => sum + ctx.measureText(label).width + 14 + gap, 0) - gap;
    ctx.font = `${size}px system-ui, sans-serif`;
    if (needed() > room) gap = 10;
    while (needed() > room && size > 9) ctx.font = `${--size}px system-ui, sans-serif`;
    for (const [label, colour] of items) {
      ctx.fillStyle = colour;
      ctx.fillRect(x, y - 5, 10, 10);
      ctx.fillStyle = palette().fg;
      ctx.fillText(label, x + 14, y);
      x += ctx.measureText(label).width + 14 + gap;
    }
  }
}

// ---- gamma ---------------------------------------------------------------------------------
export class GammaChart extends SmileChart {
  gex: GexSummary | null = null;

  override draw(): void {
    const b = this.frame();
    const p = palette();
    const g = this.gex;
    const bars = g?.by_strike?.filter((s) => s.net != null) ?? [];
    if (!g || !bars.length) return this.empty(t("gammaEmpty"));
    const xd = extent([...bars.map((s) => s.strike), g.zero_gamma, g.spot], 0.03);
    const yd = extent([0, ...bars.map((s) => s.net)]);
    this.axes(b, xd, yd, fmt.strike, fmt.moneyCompact);
    const ctx = this.ctx;
    const zero = this.sy(0, b, yd);
    const bw = Math.max(2, ((b.x1 - b.x0) / bars.length) * 0.7);
    for (const s of bars) {
      const x = this.sx(s.strike, b, xd);
      const y = this.sy(s.net as number, b, yd);
      ctx.fillStyle = this.stale ? p.stale : (s.net as number) >= 0 ? p.call : p.put;
      ctx.fillRect(x - bw / 2, Math.min(y, zero), bw, Math.abs(y - zero));
    }
    if (g.zero_gamma != null) this.vline(this.sx(g.zero_gamma, b, xd), b, p.fg, `${t("zeroGamma")} ${fmt.strike(g.zero_gamma)}`, [2, 3], 0);
    if (g.call_wall != null) this.vline(this.sx(g.call_wall, b, xd), b, p.call, `${t("callWall")} ${fmt.strike(g.call_wall)}`, [6, 3], 1);
    if (g.put_wall != null) this.vline(this.sx(g.put_wall, b, xd), b, p.put, `${t("putWall")} ${fmt.strike(g.put_wall)}`, [6, 3], 2);
    if (g.spot != null) this.vline(this.sx(g.spot, b, xd), b, p.spot, `${t("spot")} ${fmt.num(g.spot)}`, [], 3);
    this.legend([
      [`${t("gammaNet")} ≥ 0`, p.call],
      [`${t("gammaNet")} < 0`, p.put],
    ]);
  }
}

// ---- flow ----------------------------------------------------------------------------------
export class FlowChart extends SmileChart {
  points: FlowPoint[] = [];
  /** Visible window in ms since epoch; null = follow live (the last 30 minutes of data). */
  window: [number, number] | null = null;
  span = 30 * 60_000;

  override draw(): void {
    const b = this.frame();
    b.x1 = this.width - 70;
    const p = palette();
    if (!this.points.length) return this.empty(t("flowEmpty"));
    const times = this.points.map((q) => Date.parse(q.timestamp));
    const last = times[times.length - 1];
    const [from, to] = this.window ?? [Math.max(times[0], last - this.span), last];
    const idx = times.map((tm, i) => [tm, i] as const).filter(([tm]) => tm >= from && tm <= to);
    if (!idx.length) return this.empty(t("flowEmpty"));
    const xd: [number, number] = [from, to];
    const sel = idx.map(([, i]) => this.points[i]);
    const yd = extent(sel.flatMap((q) => [q.flow.session.net_call, q.flow.session.net_put, q.flow.session.net, 0]));
    const sd = extent(sel.map((q) => q.spot));
    this.axes(b, xd, yd, (v) => fmt.etShort(v), fmt.moneyCompact);
    const ctx = this.ctx;
    ctx.fillStyle = p.muted;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    for (const v of niceTicks(sd[0], sd[1], 4)) ctx.fillText(fmt.num(v), b.x1 + 6, this.sy(v, b, sd));
    const series = (pick: (q: FlowPoint) => number, d: [number, number]) =>
      idx.map(([tm, i]) => [this.sx(tm, b, xd), this.sy(pick(this.points[i]), b, d)] as [number, number]);
    const grey = this.stale ? p.stale : null;
    this.line(series((q) => q.flow.session.net_call, yd), grey ?? p.call);
    this.line(series((q) => q.flow.session.net_put, yd), grey ?? p.put, 2, [6, 3]);
    this.line(series((q) => q.flow.session.net, yd), grey ?? p.net, 3);
    this.line(series((q) => q.spot, sd), grey ?? p.spot, 1.5, [2, 2]);
    this.legend([
      [t("flowCalls"), p.call],
      [t("flowPuts"), p.put],
      [t("flowNet"), p.net],
      [t("flowSpy"), p.spot],
    ]);
  }

  /** Scroll back (negative) or forward by a fraction of the span. */
  pan(fraction: number): void {
    if (!this.points.length) return;
    const last = Date.parse(this.points[this.points.length - 1].timestamp);
    const first = Date.parse(this.points[0].timestamp);
    const [from] = this.window ?? [last - this.span, last];
    let start = from + fraction * this.span;
    start = Math.max(Math.min(start, last - this.span), first - this.span / 2);
    this.window = start + this.span >= last ? null : [start, start + this.span];
    this.invalidate();
  }
}

// ---- P&L -----------------------------------------------------------------------------------
export class PnlChart extends SmileChart {
  points: PnlPoint[] = []; // oldest first, one session

  override draw(): void {
    const b = this.frame();
    const p = palette();
    if (!this.points.length) return this.empty(t("noPnl"));
    const times = this.points.map((q) => Date.parse(q.at));
    const first = times[0];
    const last = times[times.length - 1];
    const xd: [number, number] = last > first ? [first, last] : [first - 60_000, first + 60_000];
    const total = (q: PnlPoint) => q.realized + q.unrealized_mid;
    const fair = (q: PnlPoint) => q.realized + q.unrealized_fair;
    const yd = extent(this.points.flatMap((q) => [q.realized, total(q), fair(q), 0]));
    this.axes(b, xd, yd, (v) => fmt.etShort(v), fmt.moneyCompact);
    const ctx = this.ctx;
    ctx.strokeStyle = p.muted;
    const zero = this.sy(0, b, yd);
    ctx.beginPath();
    ctx.moveTo(b.x0, zero);
    ctx.lineTo(b.x1, zero);
    ctx.stroke();
    const series = (pick: (q: PnlPoint) => number) =>
      this.points.map((q, i) => [this.sx(times[i], b, xd), this.sy(pick(q), b, yd)] as [number, number]);
    const grey = this.stale ? p.stale : null;
    // Steps, not slopes: P&L changes at the moment a point is reported.
    const steps = (pts: [number, number][]) =>
      pts.flatMap((pt, i) => (i ? [[pt[0], pts[i - 1][1]] as [number, number], pt] : [pt]));
    this.line(steps(series(fair)), grey ?? p.fit, 1.5, [6, 3]);
    this.line(steps(series((q) => q.realized)), grey ?? p.call, 2);
    this.line(steps(series(total)), grey ?? p.net, 3);
    this.legend([
      [t("pnlRealized"), p.call],
      [t("pnlLegendMid"), p.net],
      [t("pnlLegendFair"), p.fit],
    ]);
  }
}
