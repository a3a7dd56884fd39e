// The Trading tab: the trader's state and risk use against its limits, the kill switch,
// the session's P&L curve, positions marked at mid and at fair value, fills and signals.
//
// The kill switch is an authenticated write relayed by the backend (`POST
// /api/trader/kill-switch`, docs/dashboard.md): no secret is built into the page. The operator
// types the key once; it is kept in this tab's sessionStorage only and sent as the bearer
// token, the same header every backend write takes.
import { PnlChart } from "./charts";
import {
  type Api,
  type ContractRef,
  type FillReport,
  type OrderReport,
  type PnlPoint,
  type PositionPoint,
  type SignalItem,
  type TraderStatus,
  type TradingState,
} from "./data";
import { $, el, setText, tx } from "./dom";
import * as fmt from "./fmt";
import { type Key, t } from "./i18n";

const MULTIPLIER = 100; // shares per contract (spy_core.trading.CONTRACT_MULTIPLIER)
const KEY_STORE = "operatorKey";

const STATE_KEYS: Record<TradingState, Key> = { active: "stateActive", reducing: "stateReducing", halted: "stateHalted" };

interface Data {
  status: TraderStatus | null;
  positions: PositionPoint[];
  orders: OrderReport[];
  fills: FillReport[];
  signals: SignalItem[];
  pnl: PnlPoint[];
}

export function contractLabel(c: ContractRef): string {
  return `${fmt.strike(c.strike)} ${c.right} · ${fmt.date(c.expiry)}`;
}

const sideText = (action: "BUY" | "SELL") => `${action === "BUY" ? "▲" : "▼"} ${t(action === "BUY" ? "buy" : "sell")}`;

function table(head: Key[], rows: HTMLTableRowElement[], foot?: HTMLTableRowElement): HTMLElement {
  return el(
    "table",
    { class: "data", tabindex: "0" },
    el("thead", {}, el("tr", {}, ...head.map((k) => el("th", { scope: "col", "data-i18n": k, text: t(k) })))),
    el("tbody", {}, ...rows),
    ...(foot ? [el("tfoot", {}, foot)] : []),
  );
}

/** The empty state in `host` when there is nothing to list; true when shown. */
function empty(host: HTMLElement, count: number, key: Key): boolean {
  if (count) return false;
  host.replaceChildren(el("p", { class: "empty", text: t(key) }));
  return true;
}

function signed(td: HTMLTableCellElement, value: number | null): HTMLTableCellElement {
  if (value != null && value !== 0) td.classList.add(value > 0 ? "up" : "down");
  return td;
}

export class TradingView {
  readonly chart: PnlChart;
  private data: Data = { status: null, positions: [], orders: [], fills: [], signals: [], pnl: [] };
  private loading: Promise<void> | null = null;
  private again = false;
  private armed: boolean | null = null; // the command awaiting the key: true = halt

  constructor(host: HTMLElement, private readonly api: () => Api) {
    const killForm = el(
      "form",
      { id: "killForm", class: "kill-form", hidden: "" },
      el(
        "label",
        { class: "filter" },
        tx("operatorKey"),
        el("input", { id: "operatorKey", type: "password", autocomplete: "off", required: "", "aria-describedby": "operatorKeyHint" }),
      ),
      el("p", { class: "sub", id: "operatorKeyHint", "data-i18n": "operatorKeyHint" }),
      el(
        "div",
        { class: "row" },
        el("button", { type: "submit", class: "btn danger", id: "killConfirm" }),
        el("button", { type: "button", class: "btn", id: "killCancel", "data-i18n": "cancel" }),
      ),
    );
    host.append(
      el(
        "div",
        { class: "trading" },
        el(
          "div",
          { class: "card trader-card" },
          tx("traderState", "h2"),
          el(
            "p",
            { class: "trader-state" },
            el("span", { id: "traderState", class: "state-badge" }),
            " ",
            el("span", { id: "traderReason", class: "sub", translate: "no" }),
          ),
          el("p", { id: "traderNote", class: "sub" }),
          tx("riskUse", "h3"),
          el("div", { id: "riskUse", class: "risk" }),
          tx("killSwitch", "h3"),
          el(
            "div",
            { class: "row" },
            el("button", { type: "button", class: "btn danger", id: "killSwitch", "aria-describedby": "killHint" }),
            el("button", { type: "button", class: "btn", id: "forgetKey", "data-i18n": "forgetKey", hidden: "" }),
          ),
          el("p", { class: "sub", id: "killHint", "data-i18n": "killSwitchHint" }),
          killForm,
          el("p", { id: "killResult", role: "status", class: "sub" }),
        ),
        el(
          "div",
          { class: "card pnl-card" },
          tx("pnl", "h2"),
          el("div", { id: "pnlStats", class: "stats small" }),
          el("div", { id: "pnlChart" }),
        ),
        el("div", { class: "card wide" }, tx("positions", "h2"), el("div", { id: "positions" })),
        el("div", { class: "card wide" }, tx("trades", "h2"), el("div", { id: "trades", class: "tall" })),
        el("div", { class: "card wide" }, tx("signals", "h2"), el("div", { id: "signals", class: "tall" })),
      ),
    );
    this.chart = new PnlChart($("pnlChart"), "pnlLabel");
    $("killSwitch").addEventListener("click", () => this.arm());
    $("killCancel").addEventListener("click", () => this.disarm());
    $("forgetKey").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_STORE);
      this.renderState();
    });
    killForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const key = ($("operatorKey") as HTMLInputElement).value.trim();
      if (key) void this.send(key);
    });
    this.render();
  }

  /** Re-read everything (coalesced: one load at a time, one more if asked meanwhile). */
  async load(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.fetchAll().finally(() => {
      this.loading = null;
      if (this.again) {
        this.again = false;
        void this.load();
      }
    });
    return this.loading;
  }

  private async fetchAll(): Promise<void> {
    const api = this.api();
    const last = this.data.pnl[this.data.pnl.length - 1];
    // P&L grows all day: after the first read only what is newer than the last point.
    const pnlPath = last ? `/api/pnl?since=${encodeURIComponent(last.at)}` : "/api/pnl";
    const get = <T>(path: string) => api.get<T>(path).catch(() => null);
    const [status, positions, trades, signals, pnl] = await Promise.all([
      get<TraderStatus>("/api/trader"),
      get<{ items: PositionPoint[] }>("/api/positions"),
      get<{ orders: OrderReport[]; fills: FillReport[] }>("/api/trades?limit=200"),
      get<{ items: SignalItem[] }>("/api/signals?limit=100"),
      get<PnlPoint[]>(pnlPath),
    ]);
    const d = this.data;
    d.status = status;
    if (positions && Array.isArray(positions.items)) d.positions = positions.items;
    if (trades && Array.isArray(trades.fills)) {
      d.fills = trades.fills;
      d.orders = Array.isArray(trades.orders) ? trades.orders : [];
    }
    if (signals && Array.isArray(signals.items)) d.signals = signals.items;
    if (Array.isArray(pnl)) this.addPnl(pnl);
    this.render();
  }

  private addPnl(points: PnlPoint[]): void {
    const known = new Set(this.data.pnl.map((p) => p.at));
    const all = [...this.data.pnl, ...points.filter((p) => p && typeof p.at === "string" && !known.has(p.at))];
    all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    // The curve is one session: the trader's latest day.
    const day = all[all.length - 1]?.day;
    this.data.pnl = all.filter((p) => p.day === day);
  }

  render(): void {
    this.chart.invalidate();
    this.renderState();
    this.renderPnl();
    this.renderPositions();
    this.renderFills();
    this.renderSignals();
  }

  private state(): TradingState | null {
    const s = this.data.status;
    if (s?.reachable && s.state) return s.state;
    return this.data.pnl[this.data.pnl.length - 1]?.state ?? null;
  }

  /** A new language: everything re-rendered, the last command's answer dropped. */
  relabel(): void {
    setText($("killResult"), "");
    if (this.armed !== null) setText($("killConfirm"), t(this.armed ? "confirmHalt" : "confirmResume"));
    this.render();
  }

  private renderState(): void {
    const s = this.data.status;
    const state = this.state();
    const badge = $("traderState");
    setText(badge, state ? t(STATE_KEYS[state]) : t("stateUnknown"));
    badge.className = `state-badge state-${state ?? "unknown"}`;
    setText($("traderReason"), s?.reachable ? s.reason : "");
    const heard = this.data.pnl.length > 0 || this.data.fills.length > 0 || this.data.signals.length > 0;
    const note: Key | null = s?.reachable
      ? null
      : s?.configured
        ? "traderUnreachable"
        : heard
          ? "traderRemote"
          : "traderNotRunning";
    const noteEl = $("traderNote");
    noteEl.hidden = note === null;
    if (note) setText(noteEl, t(note));
    this.renderRisk();
    const kill = $("killSwitch") as HTMLButtonElement;
    const halted = state === "halted";
    setText(kill, t(halted ? "killOff" : "killOn"));
    kill.classList.toggle("danger", !halted);
    kill.disabled = !s?.reachable || this.armed !== null;
    $("forgetKey").hidden = !sessionStorage.getItem(KEY_STORE);
  }

  private renderRisk(): void {
    const last = this.data.pnl[this.data.pnl.length - 1];
    const limits = this.data.status?.limits ?? null;
    const box = $("riskUse");
    if (!last) {
      box.replaceChildren(el("p", { class: "empty", text: t("noRisk") }));
      return;
    }
    const loss = Math.max(0, -(last.realized + last.unrealized_mid));
    const rows: [Key, number, number | null, (v: number) => string][] = [
      ["riskPositions", last.open_positions, limits?.max_open_positions ?? null, fmt.int],
      ["riskPremium", last.premium_at_risk, limits?.max_premium_at_risk ?? null, (v) => fmt.money(v, 0)],
      ["riskDelta", Math.abs(last.net_delta), limits?.max_net_delta ?? null, (v) => fmt.num(v, 0)],
      ["riskLoss", loss, limits?.max_daily_loss ?? null, (v) => fmt.money(v, 0)],
    ];
    box.replaceChildren(
      ...rows.map(([key, used, limit, f]) => {
        const share = limit ? Math.min(1, used / limit) : 0;
        const text = limit == null ? f(used) : t("ofLimit", { used: f(used), limit: f(limit), share: fmt.pct(used / limit, 0) });
        const level = share >= 0.9 ? "hot" : share >= 0.6 ? "warm" : "cool";
        const fill = el("span", { class: `fill ${level}` });
        fill.style.width = `${(share * 100).toFixed(1)}%`; // CSSOM, allowed by the strict CSP
        return el(
          "div",
          { class: "risk-row" },
          el("span", { class: "label", text: t(key) }),
          el("span", { class: "value", text }),
          el("span", { class: "bar", "aria-hidden": "true" }, fill),
        );
      }),
    );
    if (!limits) box.append(el("p", { class: "sub", text: t("limitsUnknown") }));
  }

  private renderPnl(): void {
    const last = this.data.pnl[this.data.pnl.length - 1];
    const stats: [Key, number | undefined][] = [
      ["pnlRealized", last?.realized],
      ["pnlUnrealizedMid", last?.unrealized_mid],
      ["pnlUnrealizedFair", last?.unrealized_fair],
      ["pnlTotal", last ? last.realized + last.unrealized_mid : undefined],
      ["commissions", last?.commissions],
    ];
    $("pnlStats").replaceChildren(
      ...stats.map(([key, v]) =>
        el(
          "div",
          { class: "stat" },
          el("span", { class: "label", text: t(key) }),
          key === "commissions"
            ? el("span", { class: "value", text: fmt.money(v) })
            : el("span", { class: `value ${v == null || v === 0 ? "" : v > 0 ? "up" : "down"}`, text: fmt.signedMoney(v) }),
        ),
      ),
    );
    this.chart.points = this.data.pnl;
    this.chart.invalidate();
  }

  private renderPositions(): void {
    const host = $("positions");
    const items = this.data.positions.filter((p) => p.quantity !== 0);
    if (empty(host, items.length, "noPositions")) return;
    const upnl = (p: PositionPoint, price: number | null) =>
      price == null ? null : (price - p.avg_cost) * p.quantity * MULTIPLIER;
    let sumMid = 0;
    let sumFair = 0;
    const rows = items.map((p) => {
      const mid = upnl(p, p.mark);
      const fair = upnl(p, p.fair);
      sumMid += mid ?? 0;
      sumFair += fair ?? 0;
      return el(
        "tr",
        {},
        el("td", { text: contractLabel(p.contract) }),
        signed(el("td", { text: `${p.quantity > 0 ? "+" : ""}${fmt.int(p.quantity)}` }), p.quantity),
        el("td", { text: fmt.num(p.avg_cost, 3) }),
        el("td", { text: fmt.num(p.mark, 3) }),
        el("td", { text: fmt.num(p.fair, 3) }),
        signed(el("td", { text: fmt.signedMoney(mid) }), mid),
        signed(el("td", { text: fmt.signedMoney(fair) }), fair),
      );
    });
    const foot = el(
      "tr",
      {},
      el("th", { scope: "row", text: t("bookTotal") }),
      el("td"),
      el("td"),
      el("td"),
      el("td"),
      signed(el("td", { text: fmt.signedMoney(sumMid) }), sumMid),
      signed(el("td", { text: fmt.signedMoney(sumFair) }), sumFair),
    );
    host.replaceChildren(table(["contract", "qty", "avgPrice", "markMid", "markFair", "upnlMid", "upnlFair"], rows, foot));
  }

  private renderFills(): void {
    const host = $("trades");
    const fills = this.data.fills.slice(0, 100);
    if (empty(host, fills.length, "noTrades")) return;
    const signalOf = new Map(this.data.orders.map((o) => [o.order_ref, o.signal_id]));
    const reasons = new Map(this.data.signals.map((s) => [s.signal.id, s.signal.reason]));
    const rows = fills.map((f) => {
      // An order's reference is `<signal id>:L<leg>`, or `<signal id>:C` for a combo (one order
      // for every leg of a vertical; spy_trader.engine).
      const signal = signalOf.get(f.order_ref) ?? f.order_ref.replace(/:(L\d+|C)$/, "");
      return el(
        "tr",
        { class: `side-${f.action === "BUY" ? "buy" : "sell"}` },
        el("td", { text: fmt.etTime(f.at) }),
        el("td", { text: contractLabel(f.contract) }),
        el("td", { class: `side s-${f.action === "BUY" ? "buy" : "sell"}`, text: sideText(f.action) }),
        el("td", { text: fmt.int(f.quantity) }),
        el("td", { text: fmt.num(f.price, 2) }),
        // The trader's own words: data, not page text (not translated).
        el("td", { class: "reason", translate: "no", text: reasons.get(signal) ?? signal }),
      );
    });
    host.replaceChildren(table(["time", "contract", "side", "qty", "price", "signalReason"], rows));
  }

  private renderSignals(): void {
    const host = $("signals");
    const items = this.data.signals.slice(0, 50);
    if (empty(host, items.length, "noSignals")) return;
    const rows = items.map(({ signal, decision }) =>
      el(
        "tr",
        {},
        el("td", { text: fmt.etTime(signal.at) }),
        el("td", { text: signal.legs.map((l) => `${l.action === "BUY" ? "▲" : "▼"} ${contractLabel(l.contract)}`).join(" / ") }),
        el("td", { text: t(signal.intent === "open" ? "intentOpen" : "intentClose") }),
        signed(el("td", { text: fmt.signedMoney(signal.expected_edge) }), signal.expected_edge),
        el(
          "td",
          { class: decision?.taken ? "up" : "" },
          decision == null ? t("pending") : decision.taken ? t("taken") : t("rejected"),
          ...(decision && !decision.taken && decision.rule ? [" ", el("code", { translate: "no", text: decision.rule })] : []),
        ),
        el("td", { class: "reason", translate: "no", text: signal.reason }),
      ),
    );
    host.replaceChildren(table(["time", "legs", "intent", "expectedEdge", "decision", "signalReason"], rows));
  }

  // ---- kill switch ---------------------------------------------------------------------------
  private arm(): void {
    const halt = this.state() !== "halted";
    this.armed = halt;
    // A key entered before in this tab is filled in: still one explicit confirmation.
    ($("operatorKey") as HTMLInputElement).value = sessionStorage.getItem(KEY_STORE) ?? "";
    $("killForm").hidden = false;
    setText($("killConfirm"), t(halt ? "confirmHalt" : "confirmResume"));
    setText($("killResult"), "");
    this.renderState();
    ($("operatorKey") as HTMLInputElement).focus();
  }

  private disarm(): void {
    this.armed = null;
    $("killForm").hidden = true;
    ($("operatorKey") as HTMLInputElement).value = "";
    this.renderState();
    $("killSwitch").focus();
  }

  private async send(key: string): Promise<void> {
    const on = this.armed ?? true;
    let result: string;
    try {
      const r = await this.api().post("/api/trader/kill-switch", { on, reason: "dashboard operator" }, key);
      if (r.status === 200) {
        sessionStorage.setItem(KEY_STORE, key);
        this.data.status = r.body as TraderStatus;
        const state = this.data.status.state;
        result = t("killDone", { state: state ? t(STATE_KEYS[state]) : t("stateUnknown") });
      } else if (r.status === 401) {
        sessionStorage.removeItem(KEY_STORE);
        result = t("killWrongKey");
      } else if (r.status === 503 || r.status === 404) {
        result = t("killUnavailable");
      } else {
        result = t("killFailed", { status: r.status });
      }
    } catch {
      result = t("killUnavailable");
    }
    this.armed = null;
    $("killForm").hidden = true;
    ($("operatorKey") as HTMLInputElement).value = "";
    setText($("killResult"), result);
    this.renderState();
    void this.load();
  }
}
