// The strike ladder on one canvas: calls left, puts right, strike in the centre. Rows keep
// their formatted text (formatted when a row changes, not per frame); a repaint is one
// requestAnimationFrame when something changed, with no DOM reads in the draw path.
import { R, type Anomaly, type Row } from "./data";
import * as fmt from "./fmt";
import { t } from "./i18n";
import { fitCanvas, palette } from "./theme";

const ROW_H = 22;
const HEAD_H = 40;

interface Cells {
  row: Row;
  text: string[]; // per column
}

// wide: hidden under 640 px; phone: hidden under 480 px.
type Col = { key: string; side: "c" | "p" | "k"; field?: number; wide?: boolean; phone?: boolean };

const COLS_C: Col[] = [
  { key: "oi", side: "c", field: R.oi, wide: true },
  { key: "volume", side: "c", field: R.volume, wide: true },
  { key: "iv", side: "c", field: R.ivBid, phone: true },
  { key: "size", side: "c", field: R.bidSize, wide: true },
  { key: "bid", side: "c", field: R.bid },
  { key: "ask", side: "c", field: R.ask },
];
const COLS_P: Col[] = [
  { key: "bid", side: "p", field: R.bid },
  { key: "ask", side: "p", field: R.ask },
  { key: "size", side: "p", field: R.bidSize, wide: true },
  { key: "iv", side: "p", field: R.ivBid, phone: true },
  { key: "volume", side: "p", field: R.volume, wide: true },
  { key: "oi", side: "p", field: R.oi, wide: true },
];
const STRIKE: Col = { key: "strike", side: "k" };

function cellText(row: Row, col: Col): string {
  if (col.side === "k") return fmt.strike(row[0] as number);
  const base = col.side === "c" ? R.c : R.p;
  const v = (i: number) => row[base + i];
  switch (col.key) {
    case "bid":
      return fmt.num(v(R.bid));
    case "ask":
      return fmt.num(v(R.ask));
    case "size":
      return `${fmt.int(v(R.bidSize))}×${fmt.int(v(R.askSize))}`;
    case "iv": {
      const b = v(R.ivBid);
      const a = v(R.ivAsk);
      const mid = b != null && a != null ? (a + b) / 2 : (a ?? b);
      return fmt.pct(mid, 1);
    }
    case "volume":
      return fmt.compact(v(R.volume));
    case "oi":
      return fmt.compact(v(R.oi));
    default:
      return "";
  }
}

export interface LadderModel {
  spot: number | null;
  expiry: string;
  stale: boolean;
}

export class LadderView {
  readonly canvas: HTMLCanvasElement;
  private ctx: CanvasRenderingContext2D;
  private rows: Cells[] = [];
  private anomalies = new Map<string, Anomaly>(); // `${strike}|${right}`
  private dirty = false;
  private width = 600;
  private cols: Col[] = [];
  private selected = -1;
  model: LadderModel = { spot: null, expiry: "", stale: false };
  /** Draw durations (ms), newest last, for the frame-time benchmark. */
  readonly frames: number[] = [];
  onPaint: (() => void) | null = null;
  onSelect: ((text: string) => void) | null = null;

  constructor(host: HTMLElement) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "ladder";
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "img");
    host.append(this.canvas);
    const ctx = this.canvas.getContext("2d", { alpha: false });
    if (!ctx) throw new Error("no 2d canvas");
    this.ctx = ctx;
    new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width ?? 600;
      if (Math.abs(w - this.width) > 0.5) {
        this.width = w;
        this.layout();
      }
    }).observe(host);
    this.canvas.addEventListener("keydown", (e) => this.key(e));
    this.layout();
  }

  private layout(): void {
    const narrow = this.width < 640;
    const phone = this.width < 480;
    const keep = (c: Col) => !(narrow && c.wide) && !(phone && c.phone);
    this.cols = [...COLS_C.filter(keep), STRIKE, ...COLS_P.filter(keep)];
    fitCanvas(this.canvas, this.width, HEAD_H + Math.max(1, this.rows.length) * ROW_H + 4);
    this.invalidate();
  }

  /** Replace all rows (a REST load). */
  setRows(rows: Row[]): void {
    this.rows = rows.map((row) => ({ row, text: [] }));
    this.rows.sort((a, b) => (a.row[0] as number) - (b.row[0] as number));
    this.reformat();
    this.layout();
  }

  /** Apply a delta's changed rows and removed strikes. */
  applyRows(changed: Row[], gone: number[]): void {
    const before = this.rows.length;
    if (gone.length) {
      const g = new Set(gone);
      this.rows = this.rows.filter((c) => !g.has(c.row[0] as number));
    }
    for (const row of changed) {
      const k = row[0] as number;
      const existing = this.rows.find((c) => c.row[0] === k);
      const cells = existing ?? { row, text: [] };
      cells.row = row;
      cells.text = this.cols.map((c) => cellText(row, c));
      if (!existing) this.rows.push(cells);
    }
    this.rows.sort((a, b) => (a.row[0] as number) - (b.row[0] as number));
    if (this.rows.length !== before) this.layout();
    else this.invalidate();
  }

  setAnomalies(open: Iterable<Anomaly>, expiry: string): void {
    this.anomalies.clear();
    for (const a of open) if (!expiry || a.expiry === expiry) this.anomalies.set(`${a.strike}|${a.right}`, a);
    this.invalidate();
  }

  reformat(): void {
    for (const c of this.rows) c.text = this.cols.map((col) => cellText(c.row, col));
    this.invalidate();
  }

  invalidate(): void {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => this.paint());
  }

  get anomalyCount(): number {
    return this.anomalies.size;
  }

  get strikes(): number {
    return this.rows.length;
  }

  private key(e: KeyboardEvent): void {
    if (!this.rows.length) return;
    let next = this.selected;
    if (e.key === "ArrowDown") next = Math.min(this.rows.length - 1, this.selected + 1);
    else if (e.key === "ArrowUp") next = Math.max(0, this.selected - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = this.rows.length - 1;
    else return;
    e.preventDefault();
    this.selected = next;
    this.invalidate();
    this.onSelect?.(this.describe(next));
  }

  describe(i: number): string {
    const row = this.rows[i]?.row;
    if (!row) return "";
    const k = row[0] as number;
    const a = this.anomalies.get(`${k}|C`) ?? this.anomalies.get(`${k}|P`);
    return t("ladderRow", {
      strike: fmt.strike(k),
      cb: fmt.num(row[R.c + R.bid]),
      ca: fmt.num(row[R.c + R.ask]),
      pb: fmt.num(row[R.p + R.bid]),
      pa: fmt.num(row[R.p + R.ask]),
      anomaly: a
        ? t("ladderAnomaly", { right: a.right === "C" ? t("call") : t("put"), side: t(a.side), edge: fmt.money(a.edge) })
        : "",
    });
  }

  paint(): void {
    this.dirty = false;
    const start = performance.now();
    const ctx = this.ctx;
    const p = palette();
    const w = this.width;
    const h = HEAD_H + Math.max(1, this.rows.length) * ROW_H + 4;
    const stale = this.model.stale;
    ctx.fillStyle = p.panel;
    ctx.fillRect(0, 0, w, h);
    const strikeW = Math.max(104, w * 0.14);
    // Sizes ("483×52") need about twice a price's room; the other columns share the rest.
    const weight = (c: Col): number => (c.key === "size" ? 1.9 : 1);
    const unit = (w - strikeW) / this.cols.reduce((sum, c) => sum + (c.side === "k" ? 0 : weight(c)), 0);
    const ws = this.cols.map((c) => (c.side === "k" ? strikeW : unit * weight(c)));
    const xs: number[] = [];
    let x = 0;
    for (const cw of ws) {
      xs.push(x);
      x += cw;
    }
    const mid = xs[this.cols.indexOf(STRIKE)] ?? w / 2;
    // header
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillStyle = p.call;
    ctx.textAlign = "center";
    ctx.fillText(t("calls"), mid / 2, 11);
    ctx.fillStyle = p.put;
    ctx.fillText(t("puts"), mid + strikeW + (w - mid - strikeW) / 2, 11);
    ctx.fillStyle = p.muted;
    ctx.font = "12px system-ui, sans-serif";
    this.cols.forEach((c, i) => {
      ctx.fillText(t(c.key as "bid"), xs[i] + ws[i] / 2, 30);
    });
    ctx.strokeStyle = p.grid;
    ctx.beginPath();
    ctx.moveTo(0, HEAD_H - 0.5);
    ctx.lineTo(w, HEAD_H - 0.5);
    ctx.stroke();
    if (!this.rows.length) {
      ctx.fillStyle = p.muted;
      ctx.fillText(t("ladderEmpty"), w / 2, HEAD_H + ROW_H / 2);
      this.record(start);
      return;
    }
    // ±1% band and spot line: y positions interpolated between strikes
    const spot = this.model.spot;
    const yOf = (price: number): number | null => {
      const ks = this.rows;
      for (let i = 0; i < ks.length - 1; i++) {
        const a = ks[i].row[0] as number;
        const b = ks[i + 1].row[0] as number;
        if (price >= a && price <= b) return HEAD_H + (i + 0.5 + (price - a) / (b - a)) * ROW_H;
      }
      return null;
    };
    if (spot != null) {
      const lo = yOf(spot * 0.99) ?? HEAD_H;
      const hi = yOf(spot * 1.01) ?? h - 4;
      ctx.fillStyle = p.band;
      ctx.fillRect(0, lo, w, hi - lo);
    }
    // The spot line and its label go under the numbers, which stay readable over them.
    if (spot != null) {
      const y = yOf(spot);
      if (y != null) {
        ctx.strokeStyle = p.spot;
        ctx.lineWidth = 2;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(0, y);
        ctx.lineTo(w, y);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.lineWidth = 1;
        ctx.font = "600 11px system-ui, sans-serif";
        ctx.textAlign = "left";
        const label = `${t("spot")} ${fmt.num(spot)}`;
        ctx.fillStyle = p.panel;
        ctx.fillRect(2, y - 15, ctx.measureText(label).width + 6, 14);
        ctx.fillStyle = p.spot;
        ctx.fillText(label, 5, y - 8);
      }
    }
    ctx.font = "13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    for (let r = 0; r < this.rows.length; r++) {
      const cells = this.rows[r];
      const y = HEAD_H + r * ROW_H;
      const k = cells.row[0] as number;
      if (r === this.selected) {
        ctx.strokeStyle = p.highlight;
        ctx.lineWidth = 2;
        ctx.strokeRect(1, y + 1, w - 2, ROW_H - 2);
        ctx.lineWidth = 1;
      }
      for (const right of ["C", "P"] as const) {
        const a = this.anomalies.get(`${k}|${right}`);
        if (!a) continue;
        const field = a.side === "buy" ? "ask" : "bid";
        const ci = this.cols.findIndex((c) => c.key === field && c.side === (right === "C" ? "c" : "p"));
        if (ci < 0) continue;
        const colour = a.side === "buy" ? p.buy : p.sell;
        // A tint under the text (contrast kept) and a frame; dashed when not executable.
        ctx.fillStyle = colour;
        ctx.globalAlpha = a.executable === false ? 0.15 : 0.3;
        ctx.fillRect(xs[ci] + 1, y + 1, ws[ci] - 2, ROW_H - 2);
        ctx.globalAlpha = 1;
        ctx.strokeStyle = colour;
        ctx.lineWidth = 2;
        ctx.setLineDash(a.executable === false ? [3, 2] : []);
        ctx.strokeRect(xs[ci] + 2, y + 2, ws[ci] - 4, ROW_H - 4);
        ctx.setLineDash([]);
        ctx.lineWidth = 1;
        // glyph + edge beside the strike: side readable without colour
        ctx.fillStyle = p.fg;
        ctx.font = "600 10px system-ui, sans-serif";
        ctx.textAlign = right === "C" ? "left" : "right";
        const glyph = a.side === "buy" ? "▲" : "▼";
        ctx.fillText(`${glyph}${fmt.num(a.edge)}`, right === "C" ? mid + 2 : mid + strikeW - 2, y + ROW_H / 2);
      }
    }
    // Text in two passes (one font each): font changes are the expensive canvas state.
    const mono = "13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    ctx.font = mono;
    ctx.fillStyle = stale ? p.stale : p.fg;
    ctx.textAlign = "right";
    const ki = this.cols.indexOf(STRIKE);
    for (let r = 0; r < this.rows.length; r++) {
      const text = this.rows[r].text;
      const y = HEAD_H + r * ROW_H + ROW_H / 2;
      for (let i = 0; i < this.cols.length; i++) {
        if (i !== ki) ctx.fillText(text[i] ?? "", xs[i] + ws[i] - 6, y);
      }
    }
    ctx.font = `700 ${mono}`;
    ctx.textAlign = "center";
    for (let r = 0; r < this.rows.length; r++) {
      ctx.fillText(this.rows[r].text[ki] ?? "", xs[ki] + strikeW / 2, HEAD_H + r * ROW_H + ROW_H / 2);
    }
    this.record(start);
  }

  private record(start: number): void {
    const took = performance.now() - start;
    this.frames.push(took);
    if (this.frames.length > 2000) this.frames.splice(0, 1000);
    this.onPaint?.();
  }
}
