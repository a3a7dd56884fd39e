// The strike ladder on one canvas: calls left, puts right, strike in the centre. Rows keep
// their formatted text (a cell is formatted when its value changes, not per frame); a repaint
// is one requestAnimationFrame when something changed, with no DOM reads in the draw path,
// and only the cells that changed are repainted unless the layout, the spot's row, the
// anomalies, the selection or the theme changed. The spot has its own thin row between the
// strikes around it, so its line and label never cover a quote.
import { R, type Anomaly, type Row } from "./data";
import * as fmt from "./fmt";
import { t } from "./i18n";
import { fitCanvas, palette } from "./theme";

const ROW_H = 22;
const HEAD_H = 40;
const SPOT_H = 16;
const MONO = "13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";

interface Cells {
  row: Row;
  text: string[]; // per column
  // The call side's and the put side's cells as one monospaced line each (padded to the
  // columns' right edges): one fillText per side instead of one per cell. Null: rebuild.
  lines: [string, string] | null;
  // Columns (bit i: this.cols[i]) whose text changed since the row was last painted.
  dirty: number;
  cellWise: boolean; // last painted cell by cell (not on the lines' character grid)
  at: number; // its index in the sorted rows
}

/** A horizontal stretch of one row: cleared, then (text) drawn from `tx`. */
interface Span {
  x0: number;
  x1: number;
  y: number; // the row's top
  text: string;
  tx: number;
}

/** Where each side's columns end, in monospace character cells from the side's left edge. */
interface Grid {
  cw: number; // the font's advance
  x: [number, number]; // each side's left edge (px)
  ends: number[]; // per column: the character cell its text ends at (strike: unused)
}

/** A wide value per column in the page's language, measured for the column widths. */
function samples(): Record<string, string> {
  const price = fmt.num(88.88);
  return {
    bid: price,
    ask: price,
    size: `${fmt.int(888)}×${fmt.int(888)}`,
    iv: fmt.pct(0.888, 1),
    volume: fmt.compact(88_888),
    oi: fmt.compact(88_888),
  };
}
let SAMPLE = samples();

/** A column's value in a row, compared to skip formatting what did not change. */
function sameCell(a: Row, b: Row, col: Col): boolean {
  if (col.side === "k") return a[0] === b[0];
  const base = (col.side === "c" ? R.c : R.p) + (col.field ?? 0);
  if (col.key === "size") return a[base] === b[base] && a[base + 1] === b[base + 1];
  if (col.key === "iv") return a[base] === b[base] && a[base + 1] === b[base + 1];
  return a[base] === b[base];
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
  private byStrike = new Map<number, Cells>();
  private anomalies = new Map<string, Anomaly>(); // `${strike}|${right}`
  private dirty = false;
  private full = true; // everything, else only `changed`
  private changed = new Set<Cells>();
  private width = 600;
  private cols: Col[] = [];
  private xs: number[] = [];
  private ws: number[] = [];
  private selected = -1;
  // What the last full paint drew: a partial paint is valid while these hold.
  private drawn = { split: -1, lo: 0, hi: 0, spot: "" };
  private header: HTMLCanvasElement | null = null;
  private grid: Grid | null = null;
  // Characters measured in the mono font: true when one advance wide (a fallback font's
  // glyph may not be; a line holding one is drawn cell by cell instead).
  private monoChars = new Map<string, boolean>();
  private headerPalette: object | null = null; // the theme the header was drawn in
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

  private height(): number {
    return HEAD_H + Math.max(1, this.rows.length) * ROW_H + SPOT_H + 4;
  }

  private layout(): void {
    const narrow = this.width < 640;
    const phone = this.width < 480;
    const keep = (c: Col) => !(narrow && c.wide) && !(phone && c.phone);
    const cols = [...COLS_C.filter(keep), STRIKE, ...COLS_P.filter(keep)];
    if (cols.length !== this.cols.length) {
      this.cols = cols;
      for (const c of this.rows) c.text = this.cols.map((col) => cellText(c.row, col));
    }
    for (const c of this.rows) c.lines = null;
    this.grid = null;
    const w = this.width;
    const strikeW = Math.max(104, w * 0.14);
    // Each column's share of the rest follows the width of a wide value in the page's
    // language ("88.9K" is "88,9 mil" in Spanish, sizes "888×888"), plus a margin.
    this.ctx.font = MONO;
    const weight = (c: Col): number => this.ctx.measureText(SAMPLE[c.key] ?? "88.88").width + 12;
    const unit = (w - strikeW) / this.cols.reduce((sum, c) => sum + (c.side === "k" ? 0 : weight(c)), 0);
    this.ws = this.cols.map((c) => (c.side === "k" ? strikeW : unit * weight(c)));
    this.xs = [];
    let x = 0;
    for (const cw of this.ws) {
      this.xs.push(x);
      x += cw;
    }
    fitCanvas(this.canvas, w, this.height());
    this.header = null;
    this.invalidate();
  }

  /** Replace all rows (a REST load). */
  setRows(rows: Row[]): void {
    this.rows = rows.map((row) => ({ row, text: this.cols.map((col) => cellText(row, col)), lines: null, dirty: 0, cellWise: false, at: 0 }));
    this.sortRows();
    this.byStrike = new Map(this.rows.map((c) => [c.row[0] as number, c]));
    this.layout();
  }

  /** Apply a delta's changed rows and removed strikes. */
  applyRows(changed: Row[], gone: number[]): void {
    let reshaped = false;
    if (gone.length) {
      const g = new Set(gone);
      const before = this.rows.length;
      this.rows = this.rows.filter((c) => !g.has(c.row[0] as number));
      for (const k of gone) this.byStrike.delete(k);
      reshaped = this.rows.length !== before;
    }
    for (const row of changed) {
      const k = row[0] as number;
      const cells = this.byStrike.get(k);
      if (!cells) {
        const fresh = { row, text: this.cols.map((col) => cellText(row, col)), lines: null, dirty: 0, cellWise: false, at: 0 };
        this.byStrike.set(k, fresh);
        this.rows.push(fresh);
        reshaped = true;
        continue;
      }
      const old = cells.row;
      cells.row = row;
      for (let i = 0; i < this.cols.length; i++) {
        if (sameCell(old, row, this.cols[i])) continue;
        const text = cellText(row, this.cols[i]);
        if (text === cells.text[i]) continue;
        cells.text[i] = text;
        cells.lines = null;
        cells.dirty |= 1 << i;
      }
      if (cells.dirty) this.changed.add(cells);
    }
    if (reshaped) {
      this.sortRows();
      this.layout();
    } else this.invalidate(false);
  }

  private sortRows(): void {
    this.rows.sort((a, b) => (a.row[0] as number) - (b.row[0] as number));
    this.rows.forEach((c, i) => (c.at = i));
  }

  setAnomalies(open: Iterable<Anomaly>, expiry: string): void {
    this.anomalies.clear();
    for (const a of open) if (!expiry || a.expiry === expiry) this.anomalies.set(`${a.strike}|${a.right}`, a);
    this.invalidate();
  }

  /** A new language: every cell formatted again, the columns' widths measured again. */
  reformat(): void {
    SAMPLE = samples();
    for (const c of this.rows) c.text = this.cols.map((col) => cellText(c.row, col));
    this.layout();
  }

  /** Repaint on the next frame: everything, or (`all` false) the changed rows only. */
  invalidate(all = true): void {
    if (all) this.full = true;
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

  // ---- geometry ----------------------------------------------------------------------------
  /** Rows above the spot's own row (strikes at or below spot; the ladder runs upwards). */
  private split(): number {
    const spot = this.model.spot;
    if (spot == null) return this.rows.length;
    let n = 0;
    while (n < this.rows.length && (this.rows[n].row[0] as number) <= spot) n++;
    return n;
  }

  private rowY(r: number, split: number): number {
    return HEAD_H + r * ROW_H + (r >= split ? SPOT_H : 0);
  }

  /** A price's y between the centres of the strikes around it (null outside the ladder). */
  private yOf(price: number, split: number): number | null {
    const ks = this.rows;
    for (let i = 0; i < ks.length - 1; i++) {
      const a = ks[i].row[0] as number;
      const b = ks[i + 1].row[0] as number;
      if (price >= a && price <= b) {
        const ya = this.rowY(i, split) + ROW_H / 2;
        const yb = this.rowY(i + 1, split) + ROW_H / 2;
        return ya + ((price - a) / (b - a)) * (yb - ya);
      }
    }
    return null;
  }

  // ---- painting ----------------------------------------------------------------------------
  paint(): void {
    this.dirty = false;
    const start = performance.now();
    const spot = this.model.spot;
    const split = this.split();
    const lo = spot == null ? 0 : (this.yOf(spot * 0.99, split) ?? HEAD_H);
    const hi = spot == null ? 0 : (this.yOf(spot * 1.01, split) ?? this.height() - 4);
    const label = spot == null ? "" : `${t("spot")} ${fmt.num(spot)}`;
    const d = this.drawn;
    if (this.full || split !== d.split || !this.rows.length) {
      this.paintFrame();
      if (this.rows.length) {
        this.paintSpot(split, label);
        this.paintRows(this.rows, split, lo, hi);
      }
    } else {
      // Rows the band's edges moved across, the selected row and rows with an anomaly's
      // marks are repainted whole; elsewhere only the changed cells.
      const whole = new Set<Cells>();
      if (lo !== d.lo || hi !== d.hi) {
        for (let r = 0; r < this.rows.length; r++) {
          const y = this.rowY(r, split);
          for (const edge of [lo, hi, d.lo, d.hi]) if (edge > y && edge < y + ROW_H) whole.add(this.rows[r]);
        }
      }
      const cells: Cells[] = [];
      for (const c of this.changed) {
        if (whole.has(c)) continue;
        const k = c.row[0] as number;
        if (c.at === this.selected || this.anomalies.has(`${k}|C`) || this.anomalies.has(`${k}|P`)) whole.add(c);
        else cells.push(c);
      }
      if (label !== d.spot) this.paintSpot(split, label);
      const rest = this.paintCells(cells, split, lo, hi);
      this.paintRows([...whole, ...rest], split, lo, hi);
    }
    this.full = false;
    this.changed.clear();
    this.drawn = { split, lo, hi, spot: label };
    this.record(start);
  }

  /** Background and column headers (the headers from a cached bitmap). */
  private paintFrame(): void {
    const ctx = this.ctx;
    const p = palette();
    const w = this.width;
    ctx.fillStyle = p.panel;
    ctx.fillRect(0, 0, w, this.height());
    if (!this.header || this.headerPalette !== p) {
      this.header = this.renderHeader();
      this.headerPalette = p;
    }
    ctx.drawImage(this.header, 0, 0, w, HEAD_H);
    if (!this.rows.length) {
      ctx.fillStyle = p.muted;
      ctx.font = "12px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(t("ladderEmpty"), w / 2, HEAD_H + ROW_H / 2);
    }
  }

  private renderHeader(): HTMLCanvasElement {
    const canvas = document.createElement("canvas");
    fitCanvas(canvas, this.width, HEAD_H);
    const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
    const p = palette();
    const w = this.width;
    const { xs, ws } = this;
    const ki = this.cols.indexOf(STRIKE);
    const mid = xs[ki] ?? w / 2;
    const strikeW = ws[ki] ?? 104;
    ctx.fillStyle = p.panel;
    ctx.fillRect(0, 0, w, HEAD_H);
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.textAlign = "center";
    ctx.fillStyle = p.call;
    ctx.fillText(t("calls"), mid / 2, 11);
    ctx.fillStyle = p.put;
    ctx.fillText(t("puts"), mid + strikeW + (w - mid - strikeW) / 2, 11);
    ctx.fillStyle = p.muted;
    ctx.font = "12px system-ui, sans-serif";
    this.cols.forEach((c, i) => ctx.fillText(t(c.key as "bid"), xs[i] + ws[i] / 2, 30));
    ctx.strokeStyle = p.grid;
    ctx.beginPath();
    ctx.moveTo(0, HEAD_H - 0.5);
    ctx.lineTo(w, HEAD_H - 0.5);
    ctx.stroke();
    return canvas;
  }

  /** The spot's own row: the dashed line across and its label, covering no quote. */
  private paintSpot(split: number, label: string): void {
    const ctx = this.ctx;
    const p = palette();
    const w = this.width;
    const y0 = HEAD_H + split * ROW_H;
    ctx.fillStyle = p.panel;
    ctx.fillRect(0, y0, w, SPOT_H);
    if (!label) return;
    ctx.fillStyle = p.band;
    ctx.fillRect(0, y0, w, SPOT_H);
    const y = y0 + SPOT_H / 2;
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    const text = ctx.measureText(label).width;
    const colour = this.model.stale ? p.stale : p.spot;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(text + 12, y);
    ctx.lineTo(w, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
    ctx.fillStyle = colour;
    ctx.fillText(label, 4, y);
  }

  /** Rows in passes, each setting its canvas state once: backgrounds, marks, text, strikes. */
  private paintRows(rows: Cells[], split: number, lo: number, hi: number): void {
    const ctx = this.ctx;
    const p = palette();
    const w = this.width;
    const { xs, ws, cols } = this;
    const at = rows.map((c) => c.at);
    const ki = cols.indexOf(STRIKE);
    const mid = xs[ki] ?? w / 2;
    const strikeW = ws[ki] ?? 104;
    this.background(
      at.map((r) => ({ x0: 0, x1: w, y: this.rowY(r, split), text: "", tx: 0 })),
      lo,
      hi,
    );
    for (const r of at) {
      const y = this.rowY(r, split);
      const k = this.rows[r].row[0] as number;
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
        const ci = cols.findIndex((c) => c.key === field && c.side === (right === "C" ? "c" : "p"));
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
        ctx.textBaseline = "middle";
        const glyph = a.side === "buy" ? "▲" : "▼";
        ctx.fillText(`${glyph}${fmt.num(a.edge)}`, right === "C" ? mid + 2 : mid + strikeW - 2, y + ROW_H / 2);
      }
    }
    // Text in passes, one font and alignment each (canvas state changes cost): the sides as
    // one monospaced line each, then any row whose line could not be built cell by cell,
    // then the strikes in bold.
    ctx.font = MONO;
    ctx.fillStyle = this.model.stale ? p.stale : p.fg;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    const grid = this.grid ?? (this.grid = this.measureGrid());
    const cellByCell: number[] = [];
    for (const r of at) {
      const cells = this.rows[r];
      const lines = cells.lines ?? (cells.lines = this.lines(cells.text, grid));
      cells.dirty = 0;
      cells.cellWise = !lines[0] && !lines[1];
      if (cells.cellWise) {
        cellByCell.push(r);
        continue;
      }
      const y = this.rowY(r, split) + ROW_H / 2;
      ctx.fillText(lines[0], grid.x[0], y);
      ctx.fillText(lines[1], grid.x[1], y);
    }
    if (cellByCell.length) {
      ctx.textAlign = "right";
      const right = xs.map((x, i) => x + ws[i] - 6);
      for (const r of cellByCell) {
        const text = this.rows[r].text;
        const y = this.rowY(r, split) + ROW_H / 2;
        for (let i = 0; i < cols.length; i++) if (i !== ki) ctx.fillText(text[i] ?? "", right[i], y);
      }
    }
    ctx.font = `700 ${MONO}`;
    ctx.textAlign = "center";
    for (const r of at) ctx.fillText(this.rows[r].text[ki] ?? "", mid + strikeW / 2, this.rowY(r, split) + ROW_H / 2);
  }

  /** Panel then the ±1 % band's share: each state set once for all the spans. */
  private background(spans: Span[], lo: number, hi: number): void {
    const ctx = this.ctx;
    const p = palette();
    ctx.fillStyle = p.panel;
    for (const s of spans) ctx.fillRect(s.x0, s.y, s.x1 - s.x0, ROW_H);
    if (this.model.spot == null) return;
    ctx.fillStyle = p.band;
    for (const s of spans) {
      if (hi <= s.y || lo >= s.y + ROW_H) continue;
      const top = Math.max(lo, s.y);
      ctx.fillRect(s.x0, top, s.x1 - s.x0, Math.min(hi, s.y + ROW_H) - top);
    }
  }

  /** Only the changed cells of rows painted whole before: per side, the stretch from its
   * first to its last changed cell is cleared and drawn as that slice of the side's
   * monospaced line, one fillText without the padding around it; the strike is not touched.
   * Text costs per character drawn (spaces too), so this draws a fraction of a row. Returns
   * the rows that must be painted whole (drawn cell by cell, before or now). */
  private paintCells(rows: Cells[], split: number, lo: number, hi: number): Cells[] {
    if (!rows.length) return [];
    const ctx = this.ctx;
    ctx.font = MONO;
    const grid = this.grid ?? (this.grid = this.measureGrid());
    const ki = this.cols.indexOf(STRIKE);
    const { cw, ends } = grid;
    const whole: Cells[] = [];
    const spans: Span[] = [];
    for (const c of rows) {
      const lines = c.lines ?? (c.lines = this.lines(c.text, grid));
      if (c.cellWise || (!lines[0] && !lines[1])) {
        whole.push(c);
        continue;
      }
      const y = this.rowY(c.at, split);
      for (const side of [0, 1] as const) {
        const first = side ? ki + 1 : 0;
        const last = side ? this.cols.length - 1 : ki - 1;
        let a = -1;
        let b = -1;
        for (let i = first; i <= last; i++) {
          if (!(c.dirty & (1 << i))) continue;
          if (a < 0) a = i;
          b = i;
        }
        if (a < 0) continue;
        // A cell's text lies after its left neighbour's end plus one space: the cleared
        // stretch runs from the middle of that space to the middle of the one after `b`.
        const from = a === first ? 0 : ends[a - 1];
        const text = lines[side].slice(from, ends[b]);
        let lead = 0;
        while (text.charCodeAt(lead) === 32) lead++;
        const x = grid.x[side];
        spans.push({
          x0: a === first ? x : Math.round(x + (from + 0.5) * cw),
          x1: Math.round(x + (ends[b] + 0.5) * cw),
          y,
          text: text.slice(lead),
          tx: x + (from + lead) * cw,
        });
      }
      c.dirty = 0;
    }
    this.background(spans, lo, hi);
    const p = palette();
    ctx.fillStyle = this.model.stale ? p.stale : p.fg;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    for (const s of spans) ctx.fillText(s.text, s.tx, s.y + ROW_H / 2);
    return whole;
  }

  /** Column ends in character cells of the mono font (the canvas's font must be MONO). */
  private measureGrid(): Grid {
    const cw = this.ctx.measureText("0000000000").width / 10;
    const ki = this.cols.indexOf(STRIKE);
    const x: [number, number] = [0, this.xs[ki] + this.ws[ki]];
    const ends = this.cols.map((_, i) => {
      const side = i < ki ? 0 : 1;
      return Math.floor((this.xs[i] + this.ws[i] - 6 - x[side]) / cw);
    });
    return { cw, x, ends };
  }

  /** A row's two sides as monospaced lines; ["", ""] when a character is not one advance
   * wide in the font or a cell overflows its column (then the row is drawn cell by cell). */
  private lines(text: string[], grid: Grid): [string, string] {
    const ki = this.cols.indexOf(STRIKE);
    const out: [string, string] = ["", ""];
    for (let i = 0; i < this.cols.length; i++) {
      if (i === ki) continue;
      const cell = text[i] ?? "";
      for (const ch of cell) {
        let ok = this.monoChars.get(ch);
        if (ok === undefined) {
          ok = Math.abs(this.ctx.measureText(ch).width - grid.cw) < 0.01;
          this.monoChars.set(ch, ok);
        }
        if (!ok) return ["", ""];
      }
      const side = i < ki ? 0 : 1;
      const line = out[side];
      // Right-aligned at the column's end. A cell wider than its column (e.g. "10,5 mil")
      // would push the rest out of line: that row is drawn cell by cell.
      const pad = grid.ends[i] - cell.length - line.length;
      if (pad < (line ? 1 : 0)) return ["", ""];
      out[side] = line + " ".repeat(pad) + cell;
    }
    return out;
  }

  private record(start: number): void {
    const took = performance.now() - start;
    this.frames.push(took);
    if (this.frames.length > 2000) this.frames.splice(0, 1000);
    this.onPaint?.();
  }
}
