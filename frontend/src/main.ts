// The desk: header, tabs and views wired to the data layer.
import "./style.css";
import { FlowChart, GammaChart, SmileChart } from "./charts";
import { MarketClock } from "./clock";
import {
  Api,
  type AnomalyEvent,
  type ConnState,
  type FlowPoint,
  type GexSummary,
  type Ladder,
  type LadderDelta,
  Live,
  loadConfig,
  type MarketMessage,
  type SessionInfo,
  type SmileRow,
  validEvent,
  validLadder,
  validSession,
  backoff,
} from "./data";
import { $, el, setText, tx } from "./dom";
import * as fmt from "./fmt";
import { dictionaries, type Key, lang, languages, onLang, setLang, t, translate } from "./i18n";
import { benchLadder, benchTable } from "./bench";
import { LadderView } from "./ladder";
import { TradingView } from "./trading";
import { resetPalette } from "./theme";

// ---- state ---------------------------------------------------------------------------------
const state = {
  conn: "connecting" as ConnState,
  spot: null as number | null,
  openSpot: null as number | null,
  marketTime: null as string | null,
  lastData: 0, // wall ms of the newest live data
  openAnomalies: 0,
  session: null as SessionInfo | null,
  sessionFetchedAt: 0,
  ladderSeq: -1,
  ladderExpiry: "",
  events: [] as AnomalyEvent[], // newest first
  seen: new Set<string>(),
  open: new Map<string, AnomalyEvent>(), // anomaly id -> latest opened/escalated event
  gex: null as GexSummary | null,
  flow: [] as FlowPoint[],
  warnings: [] as string[],
  dropped: 0,
  latencies: [] as number[],
  lastLatency: null as number | null,
  alerts: localStorage.getItem("alerts") === "on",
  retryAt: 0,
  historyCursor: null as string | null | undefined,
  smilePushes: 0,
};

declare global {
  interface Window {
    __desk: Record<string, unknown>;
  }
}

// ---- layout --------------------------------------------------------------------------------
const TABS: { id: string; key: Key }[] = [
  { id: "desk", key: "tabDesk" },
  { id: "smile", key: "tabSmile" },
  { id: "gamma", key: "tabGamma" },
  { id: "flow", key: "tabFlow" },
  { id: "trading", key: "tabTrading" },
  { id: "history", key: "tabHistory" },
];

function stat(label: Key, id: string, extra?: HTMLElement): HTMLElement {
  return el("div", { class: "stat" }, tx(label, "span", { class: "label" }), el("span", { class: "value", id }), ...(extra ? [extra] : []));
}

function buildHeader(): void {
  const top = $("top");
  const langSel = el("select", { id: "lang", "data-i18n-label": "language" });
  for (const l of languages) langSel.append(el("option", { value: l, text: l === "en" ? "English" : "Español", lang: l }));
  langSel.value = lang;
  langSel.addEventListener("change", () => setLang(langSel.value as "en" | "es"));
  const theme = el("button", { id: "theme", type: "button", class: "btn" });
  theme.addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    applyTheme(next);
  });
  const alerts = el("button", { id: "alerts", type: "button", class: "btn", "aria-pressed": String(state.alerts) });
  alerts.addEventListener("click", toggleAlerts);
  top.append(
    el("h1", { class: "brand" }, tx("title")),
    el(
      "div",
      { class: "stats" },
      stat("last", "spot", el("span", { class: "delta", id: "change" })),
      stat("session", "status", el("span", { class: "sub", id: "sessionClose" })),
      stat("closesIn", "countdown"),
      stat("etClock", "etclock", el("span", { class: "sub clock-kind", id: "clockKind", hidden: "", "data-i18n": "clockSim" })),
      stat("localClock", "localclock"),
      stat("marketTime", "mtime"),
      stat("connection", "conn"),
      stat("latency", "latency"),
      stat("openAnomalies", "openCount"),
    ),
    el("div", { class: "controls" }, langSel, theme, alerts),
  );
}

function buildTabs(): void {
  const nav = $("tabs");
  nav.setAttribute("data-i18n-label", "title");
  const main = $("main");
  TABS.forEach((tab, i) => {
    const b = el("button", {
      role: "tab",
      id: `tab-${tab.id}`,
      "aria-controls": `panel-${tab.id}`,
      "aria-selected": String(i === 0),
      tabindex: i === 0 ? "0" : "-1",
      type: "button",
      "data-i18n": tab.key,
    });
    b.addEventListener("click", () => select(tab.id));
    b.addEventListener("keydown", (e) => {
      const idx = TABS.findIndex((x) => x.id === tab.id);
      let next = -1;
      if (e.key === "ArrowRight") next = (idx + 1) % TABS.length;
      else if (e.key === "ArrowLeft") next = (idx - 1 + TABS.length) % TABS.length;
      else if (e.key === "Home") next = 0;
      else if (e.key === "End") next = TABS.length - 1;
      if (next >= 0) {
        e.preventDefault();
        select(TABS[next].id);
        $(`tab-${TABS[next].id}`).focus();
      }
    });
    nav.append(b);
    const panel = el("section", {
      role: "tabpanel",
      id: `panel-${tab.id}`,
      "aria-labelledby": `tab-${tab.id}`,
      class: "panel",
      tabindex: "0",
    });
    if (i !== 0) panel.hidden = true;
    main.append(panel);
  });
}

let current = "desk";
function select(id: string): void {
  current = id;
  for (const tab of TABS) {
    const on = tab.id === id;
    const b = $(`tab-${tab.id}`);
    b.setAttribute("aria-selected", String(on));
    b.tabIndex = on ? 0 : -1;
    $(`panel-${tab.id}`).hidden = !on;
  }
  history.replaceState(null, "", `#${id}`);
  if (id === "smile") renderSmile();
  if (id === "gamma") void refreshGex();
  if (id === "history" && state.historyCursor === undefined) void loadHistory();
  smile.invalidate();
  gamma.invalidate();
  flow.invalidate();
  trading.chart.invalidate();
  if (id === "trading" && api) void trading.load();
}

// ---- views ---------------------------------------------------------------------------------
let ladder: LadderView;
let smile: SmileChart;
let gamma: GammaChart;
let flow: FlowChart;
let trading: TradingView;

function filterSelect(id: string, label: Key, options: [string, Key][]): HTMLElement {
  const s = el("select", { id });
  for (const [value, key] of options) s.append(el("option", { value, "data-i18n": key }));
  s.addEventListener("change", renderFeed);
  return el("label", { class: "filter" }, tx(label), s);
}

function buildViews(): void {
  const desk = $("panel-desk");
  const ladderBox = el("div", { class: "ladder-box" });
  const ladderHead = el("h2", { id: "ladderTitle" });
  const warnings = el("ul", { id: "warnings", class: "warnings" });
  const selection = el("p", { id: "ladderSel", class: "sub", "aria-live": "polite" });
  const feedList = el("ol", { id: "feed", class: "feed", tabindex: "0", "aria-labelledby": "feedHead" });
  const exec = el("input", { type: "checkbox", id: "fExec" });
  exec.addEventListener("change", renderFeed);
  desk.append(
    el(
      "div",
      { class: "desk" },
      el("div", { class: "card" }, ladderHead, warnings, ladderBox, selection),
      el(
        "div",
        { class: "card feed-card" },
        tx("feedTitle", "h2", { id: "feedHead" }),
        el(
          "div",
          { class: "filters" },
          filterSelect("fEvent", "filterEvent", [["", "all"], ["opened", "opened"], ["escalated", "escalated"], ["cleared", "cleared"]]),
          filterSelect("fSev", "filterSeverity", [["", "all"], ["medium", "medium"], ["high", "high"]]),
          filterSelect("fSide", "filterSide", [["", "all"], ["buy", "buy"], ["sell", "sell"]]),
          el("label", { class: "filter check" }, exec, tx("filterExecutable")),
        ),
        el("p", { id: "feedEmpty", class: "empty", "data-i18n": "feedEmpty" }),
        feedList,
      ),
    ),
  );
  ladder = new LadderView(ladderBox);
  ladder.canvas.dataset.i18nLabel = "ladderLabel";
  ladder.onSelect = (text) => setText(selection, text);
  ladder.onPaint = onLadderPaint;

  const sp = $("panel-smile");
  sp.append(el("div", { class: "card" }, tx("smileTitle", "h2"), el("p", { class: "sub", id: "smileUpdated" })));
  smile = new SmileChart(sp.firstElementChild as HTMLElement, "smileLabel");
  const table = el("table", { class: "data", id: "smileTable" });
  (sp.firstElementChild as HTMLElement).append(el("details", {}, tx("showData", "summary"), table));

  const gp = $("panel-gamma");
  gp.append(el("div", { class: "card" }, tx("gammaTitle", "h2"), el("div", { class: "stats small", id: "gexStats" })));
  gamma = new GammaChart(gp.firstElementChild as HTMLElement, "gammaLabel");

  const fp = $("panel-flow");
  const earlier = el("button", { type: "button", class: "btn", "data-i18n": "flowEarlier" });
  const later = el("button", { type: "button", class: "btn", "data-i18n": "flowLater" });
  const live = el("button", { type: "button", class: "btn", "data-i18n": "flowLive" });
  fp.append(el("div", { class: "card" }, tx("flowTitle", "h2"), el("div", { class: "stats small", id: "flowStats" }), el("div", { class: "row" }, earlier, later, live)));
  flow = new FlowChart(fp.firstElementChild as HTMLElement, "flowLabel");
  earlier.addEventListener("click", () => void panFlow(-0.5));
  later.addEventListener("click", () => flow.pan(0.5));
  live.addEventListener("click", () => {
    flow.window = null;
    flow.invalidate();
  });
  flow.canvas.tabIndex = 0;
  flow.canvas.addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft") void panFlow(-0.25);
    else if (e.key === "ArrowRight") flow.pan(0.25);
    else return;
    e.preventDefault();
  });
  flow.canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    if (e.deltaY + e.deltaX < 0) void panFlow(-0.1);
    else flow.pan(0.1);
  }, { passive: false });

  trading = new TradingView($("panel-trading"), () => api);

  const hp = $("panel-history");
  const older = el("button", { type: "button", class: "btn", id: "older", "data-i18n": "loadOlder" });
  older.addEventListener("click", () => void loadHistory());
  hp.append(
    el(
      "div",
      { class: "card" },
      tx("historyTitle", "h2", { id: "historyHead" }),
      el(
        "div",
        { class: "scroll", tabindex: "0", "aria-labelledby": "historyHead" },
        el(
          "table",
          { class: "data", id: "history" },
          el("thead", {}, el("tr", {}, ...(["time", "event", "contract", "side", "kind", "edge", "severity"] as Key[]).map((k) => el("th", { scope: "col", "data-i18n": k })))),
          el("tbody", {}),
        ),
      ),
      el("p", { class: "empty", id: "historyEmpty", hidden: "", "data-i18n": "historyEmpty" }),
      older,
    ),
  );
}

// ---- rendering -----------------------------------------------------------------------------
function contract(e: AnomalyEvent): string {
  const a = e.anomaly;
  return `${fmt.strike(a.strike)} ${a.right} · ${fmt.date(a.expiry)}`;
}

function eventLine(e: AnomalyEvent): HTMLElement {
  const a = e.anomaly;
  const li = el("li", { class: `ev ev-${e.event} sev-${a.severity} side-${a.side}` });
  const glyph = a.side === "buy" ? "▲" : "▼";
  li.append(
    el("span", { class: "time", text: fmt.etTime(e.at) }),
    el("span", { class: `badge b-${e.event}`, text: t(e.event) }),
    el("span", { class: "contract", text: contract(e) }),
    el("span", { class: `side s-${a.side}`, text: `${glyph} ${t(a.side)}` }),
    el("span", { class: "kind", text: t(a.kind === "smile" ? "smileKind" : (a.kind as Key)) || a.kind }),
    el("span", { class: "edge", text: `${t("edge")} ${fmt.signedMoney(a.edge)}` }),
    el("span", { class: "score", text: `${t("score")} ${fmt.num(a.score, 1)}` }),
    el("span", { class: `badge sev sev-${a.severity}`, text: t(a.severity) }),
  );
  if (a.confidence != null && a.confidence < 1) li.append(el("span", { class: "conf", text: t("confidence", { value: fmt.pct(a.confidence, 0) }) }));
  if (a.executable === false) li.append(el("span", { class: "badge study", text: t("notExecutable") }));
  return li;
}

const SEV = { low: 0, medium: 1, high: 2 } as const;
function passes(e: AnomalyEvent): boolean {
  const ev = ($("fEvent") as HTMLSelectElement).value;
  const sev = ($("fSev") as HTMLSelectElement).value as "" | "medium" | "high";
  const side = ($("fSide") as HTMLSelectElement).value;
  const exec = ($("fExec") as HTMLInputElement).checked;
  if (ev && e.event !== ev) return false;
  if (sev && SEV[e.anomaly.severity] < SEV[sev]) return false;
  if (side && e.anomaly.side !== side) return false;
  if (exec && e.anomaly.executable === false) return false;
  return true;
}

function renderFeed(): void {
  const list = $("feed");
  const shown = state.events.filter(passes).slice(0, 80);
  list.replaceChildren(...shown.map(eventLine));
  $("feedEmpty").hidden = shown.length > 0;
  setText($("openCount"), fmt.int(state.open.size || state.openAnomalies));
}

function renderLadderHead(): void {
  setText($("ladderTitle"), t("ladderTitle", { expiry: state.ladderExpiry ? fmt.date(state.ladderExpiry) : fmt.DASH }));
  const w = $("warnings");
  const items: string[] = [...state.warnings.map((x) => (x.includes("stale") ? t("staleUnderlying") : x.includes("closed") ? t("closedSnapshot") : x))];
  if (isStale()) items.push(t("stale"));
  w.replaceChildren(...items.map((x) => el("li", { class: "badge study", text: x })));
}

function isStale(): boolean {
  return state.conn !== "live" || (state.lastData > 0 && Date.now() - state.lastData > 15_000);
}

function onLadderPaint(): void {
  if (pendingWall != null) {
    const latency = Date.now() - pendingWall;
    state.lastLatency = latency;
    state.latencies.push(latency);
    if (state.latencies.length > 5000) state.latencies.splice(0, 2500);
    performance.mark("ladder-painted");
    if (pendingRecv != null) performance.measure("ladder-recv-to-paint", { start: pendingRecv, end: performance.now() });
    pendingWall = null;
    pendingRecv = null;
  }
}
let pendingWall: number | null = null;
let pendingRecv: number | null = null;

function renderOpen(): void {
  ladder.setAnomalies(
    [...state.open.values()].map((e) => e.anomaly),
    state.ladderExpiry,
  );
  smile.anomalies = [...state.open.values()];
  smile.invalidate();
}

let tradingTimer: number | undefined;
/** At most one re-read of the trading views a second, however fast the trader posts. */
function refreshTrading(): void {
  if (tradingTimer !== undefined) return;
  tradingTimer = window.setTimeout(() => {
    tradingTimer = undefined;
    void trading.load();
  }, 1000);
}

function renderSmileTable(rows: SmileRow[]): void {
  const table = $("smileTable");
  table.replaceChildren(
    el("thead", {}, el("tr", {}, ...(["strike", "smileBid", "smileAsk", "smileFit", "fair"] as Key[]).map((k) => el("th", { scope: "col", "data-i18n": k, text: t(k) })))),
    el(
      "tbody",
      {},
      ...rows.map((r) =>
        el("tr", {}, el("td", { text: fmt.strike(r[0] as number) }), el("td", { text: fmt.pct(r[1], 1) }), el("td", { text: fmt.pct(r[2], 1) }), el("td", { text: fmt.pct(r[3], 1) }), el("td", { text: fmt.money(r[4]) })),
      ),
    ),
  );
}

function renderGex(): void {
  const g = state.gex;
  const box = $("gexStats");
  box.replaceChildren(
    stat("gammaTotal", "gTotal"),
    stat("zeroGamma", "gZero"),
    stat("callWall", "gCall"),
    stat("putWall", "gPut"),
  );
  translate(box);
  setText($("gTotal"), fmt.moneyCompact(g?.total));
  setText($("gZero"), g?.zero_gamma == null ? fmt.DASH : fmt.strike(g.zero_gamma));
  setText($("gCall"), g?.call_wall == null ? fmt.DASH : fmt.strike(g.call_wall));
  setText($("gPut"), g?.put_wall == null ? fmt.DASH : fmt.strike(g.put_wall));
  gamma.gex = g;
  gamma.invalidate();
}

function renderFlowStats(): void {
  const last = state.flow[state.flow.length - 1];
  const box = $("flowStats");
  box.replaceChildren(stat("flowCalls", "fc"), stat("flowPuts", "fp"), stat("flowNet", "fn"));
  translate(box);
  setText($("fc"), fmt.moneyCompact(last?.flow.session.net_call));
  setText($("fp"), fmt.moneyCompact(last?.flow.session.net_put));
  setText($("fn"), fmt.moneyCompact(last?.flow.session.net));
}

function renderConn(): void {
  const map: Record<ConnState, Key> = { connecting: "connConnecting", live: "connLive", reconnecting: "connReconnecting", offline: "connOffline" };
  const c = $("conn");
  setText(c, t(map[state.conn]));
  c.className = `value conn-${state.conn}`;
  const banner = $("banner");
  const down = state.conn === "offline" || state.conn === "reconnecting";
  banner.hidden = !down;
  if (down) {
    const seconds = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
    setText(
      banner,
      state.conn === "offline"
        ? t("bannerDown", { seconds: fmt.int(seconds), time: state.lastData ? fmt.etTime(state.lastData) : fmt.DASH })
        : t("bannerReconnecting"),
    );
  }
  const stale = isStale();
  document.body.classList.toggle("stale", stale);
  if (ladder.model.stale !== stale) {
    ladder.model.stale = stale;
    smile.stale = gamma.stale = flow.stale = trading.chart.stale = stale;
    ladder.invalidate();
    smile.invalidate();
    gamma.invalidate();
    flow.invalidate();
    trading.chart.invalidate();
    renderLadderHead();
  }
}

function renderSpot(): void {
  setText($("spot"), fmt.num(state.spot));
  const ch = $("change");
  if (state.spot != null && state.openSpot != null) {
    const d = state.spot - state.openSpot;
    setText(ch, `${d >= 0 ? "▲" : "▼"} ${fmt.num(d)} (${fmt.pct(d / state.openSpot, 2, true)})`);
    ch.className = `delta ${d >= 0 ? "up" : "down"}`;
  }
  setText($("mtime"), state.marketTime ? fmt.etTime(state.marketTime) : fmt.DASH);
}

const PHASE_KEY = { pre: "marketPre", open: "marketOpen", after: "marketAfter", closed: "marketClosed" } as const;

/** Where `now` stands in the session of its ET day (the server's answer for that day). */
function phaseAt(s: SessionInfo, now: Date): keyof typeof PHASE_KEY {
  const today = s.session;
  if (!today) return "closed";
  if (now < new Date(today.open)) return "pre";
  return now < new Date(today.close) ? "open" : "after";
}

function tick(): void {
  tickClock();
  setText($("latency"), state.lastLatency == null ? fmt.DASH : `${fmt.int(state.lastLatency)} ms`);
  renderConn();
  setText($("dropped"), fmt.int(state.dropped));
}

/** The clocks, the session and the countdown: each market second while the simulator runs
 * faster than real time (at most 10 times a wall second), else each second. */
function clockLoop(): void {
  tickClock();
  const pace = clock.kind === "simulated" ? clock.pace : 1;
  window.setTimeout(clockLoop, pace > 1 ? Math.max(100, 1000 / pace) : 1000);
}

function tickClock(): void {
  const now = clock.now();
  const simulated = clock.kind === "simulated";
  setText($("etclock"), now ? fmt.etTime(now) : fmt.DASH);
  const kind = $("clockKind");
  kind.hidden = !simulated;
  kind.title = t("clockSimLabel");
  // Your time is the real one, whatever clock the market runs on.
  setText($("localclock"), fmt.localTime(simulated || !now ? new Date() : now));
  const s = state.session;
  const status = $("status");
  const cd = $("countdown");
  const cdLabel = cd.previousElementSibling as HTMLElement;
  if (s && now) {
    if (s.next && now >= new Date(s.next.open)) refreshSession(); // a new day: its session
    const phase = phaseAt(s, now);
    setText(status, t(PHASE_KEY[phase]));
    status.className = `value ${phase === "open" ? "open" : "closed"}`;
    const today = s.session;
    setText(
      $("sessionClose"),
      today ? t(today.early_close ? "earlyClose" : "regularClose", { time: fmt.etShort(today.close) }) : t("noSession"),
    );
    if (phase === "open" && today) {
      cdLabel.dataset.i18n = "closesIn";
      setText(cdLabel, t("closesIn"));
      setText(cd, fmt.duration(new Date(today.close).getTime() - now.getTime()));
    } else {
      const next = today && phase === "pre" ? today : s.next;
      cdLabel.dataset.i18n = "opensIn";
      setText(cdLabel, t("opensIn"));
      setText(cd, next ? fmt.duration(new Date(next.open).getTime() - now.getTime()) : fmt.DASH);
    }
  } else {
    setText(status, fmt.DASH);
    status.className = "value";
    setText($("sessionClose"), "");
    setText(cd, fmt.DASH);
  }
}

// ---- alerts ------------------------------------------------------------------------------
let audio: AudioContext | null = null;
function toggleAlerts(): void {
  state.alerts = !state.alerts;
  localStorage.setItem("alerts", state.alerts ? "on" : "off");
  if (state.alerts && !audio) {
    try {
      audio = new AudioContext();
    } catch {
      audio = null;
    }
  }
  renderAlertButton();
}
function renderAlertButton(): void {
  const b = $("alerts");
  b.setAttribute("aria-pressed", String(state.alerts));
  setText(b, t(state.alerts ? "alertsOn" : "alertsOff"));
}
function beep(): void {
  if (!audio) return;
  const o = audio.createOscillator();
  const g = audio.createGain();
  o.frequency.value = 880;
  g.gain.setValueAtTime(0.08, audio.currentTime);
  g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
  o.connect(g).connect(audio.destination);
  o.start();
  o.stop(audio.currentTime + 0.25);
}
let announceTimer = 0;
let announceQueue: string[] = [];
function announce(text: string): void {
  announceQueue.push(text);
  if (announceTimer) return;
  announceTimer = window.setTimeout(() => {
    const live = $("live");
    const items = announceQueue.slice(-3);
    announceQueue = [];
    announceTimer = 0;
    live.replaceChildren(...items.map((x) => el("p", { text: x })));
  }, 1500);
}

// ---- data handling -----------------------------------------------------------------------
function addEvents(events: AnomalyEvent[], live: boolean): void {
  let added = 0;
  for (const e of events) {
    const key = `${e.id}|${e.event}|${e.at}`;
    if (state.seen.has(key)) continue;
    state.seen.add(key);
    added++;
    state.events.push(e);
    if (live && e.event !== "cleared" && passes(e)) {
      announce(t("newAnomaly", { text: `${contract(e)} ${t(e.anomaly.side)} ${fmt.signedMoney(e.anomaly.edge)}` }));
      if (state.alerts) {
        beep();
        document.body.classList.remove("flash");
        void document.body.offsetWidth;
        document.body.classList.add("flash");
      }
    }
  }
  if (!added) return;
  state.events.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  if (state.events.length > 500) {
    for (const e of state.events.splice(500)) state.seen.delete(`${e.id}|${e.event}|${e.at}`);
  }
  // Open anomalies: the latest event per id decides (oldest first).
  const latest = new Map<string, AnomalyEvent>();
  for (let i = state.events.length - 1; i >= 0; i--) latest.set(state.events[i].id, state.events[i]);
  state.open = new Map([...latest].filter(([, e]) => e.event !== "cleared"));
  renderFeed();
  renderOpen();
}

function onMarket(m: MarketMessage, live: boolean): void {
  state.spot = m.spot;
  state.marketTime = m.timestamp;
  state.openAnomalies = m.open_anomalies;
  state.warnings = Array.isArray(m.warnings) ? m.warnings.filter((x) => typeof x === "string") : [];
  if (live) {
    state.lastData = Date.now();
    marketTimeArrived(m.timestamp);
  }
  if (state.openSpot == null) state.openSpot = m.spot;
  if (m.gex) {
    state.gex = { ...m.gex, by_strike: state.gex?.by_strike ?? [] };
    if (current === "gamma") renderGex();
  }
  const point: FlowPoint = { timestamp: m.timestamp, spot: m.spot, flow: { increment: m.flow, session: m.flow } };
  const lastPoint = state.flow[state.flow.length - 1];
  if (!lastPoint || lastPoint.timestamp < m.timestamp) {
    state.flow.push(point);
    flow.points = state.flow;
    flow.invalidate();
    renderFlowStats();
  }
  ladder.model.spot = m.spot;
  smile.spot = m.spot;
  ladder.invalidate(false); // the spot's row and band: repainted where they moved
  renderSpot();
  renderLadderHead();
}

function loadLadder(l: Ladder): void {
  state.ladderSeq = l.seq;
  state.ladderExpiry = l.expiry;
  ladder.model.expiry = l.expiry;
  ladder.model.spot = l.spot;
  ladder.setRows(l.rows);
  if (l.smile) showSmile(l.smile, l.spot, l.timestamp);
  renderOpen();
  renderLadderHead();
}

let ladderReload: Promise<void> | null = null;
function onLadder(d: LadderDelta, receivedAt: number): void {
  if (d.base !== state.ladderSeq) {
    if (d.seq > state.ladderSeq && !ladderReload) {
      ladderReload = api
        .get<Ladder | null>("/api/ladder")
        .then((l) => {
          if (l && validLadder(l) && l.seq >= state.ladderSeq) loadLadder(l);
        })
        .catch(() => undefined)
        .finally(() => {
          ladderReload = null;
        });
    }
    return;
  }
  state.ladderSeq = d.seq;
  state.lastData = Date.now();
  marketTimeArrived(d.t);
  if (d.x !== state.ladderExpiry) {
    state.ladderExpiry = d.x;
    renderLadderHead();
  }
  ladder.model.spot = d.s;
  pendingRecv = receivedAt;
  pendingWall = d.w ?? null;
  performance.mark("ladder-received", { startTime: receivedAt });
  ladder.applyRows(d.rows, d.gone);
}

/** A live update's market time: the simulated clock follows it (a first one asks for the
 * session the clock is in). */
function marketTimeArrived(at: string): void {
  clock.observe(at);
  if (clock.kind === "simulated" && state.session?.now == null) refreshSession();
}

async function resync(): Promise<void> {
  try {
    const [market, page, lad, sess] = await Promise.all([
      api.get<{ analysis: (MarketMessage & { flow: { session: MarketMessage["flow"] } }) | null }>("/api/market"),
      api.get<{ items: unknown[]; next_cursor: string | null }>("/api/anomalies?limit=100"),
      api.get<Ladder | null>("/api/ladder"),
      api.get<unknown>("/api/session"),
    ]);
    setSession(sess);
    if (market.analysis) {
      const a = market.analysis;
      onMarket({ ...a, flow: a.flow.session, open_anomalies: a.open_anomalies }, false);
      state.gex = a.gex;
    }
    addEvents(page.items.filter(validEvent), false);
    if (lad && validLadder(lad)) loadLadder(lad);
    await trading.load();
    state.lastData = Date.now();
    tick();
    await loadFlow();
    renderGex();
  } catch (e) {
    console.warn("resync failed", e);
  }
}

const clock = new MarketClock();

function setSession(s: unknown): void {
  if (!validSession(s)) return;
  state.session = s;
  state.sessionFetchedAt = Date.now();
  clock.fromServer(s.clock, s.now, s.rate);
}

/** Re-read /api/session (at most every 5 s): the market clock reached another day, or the
 * simulated clock was not known yet. */
function refreshSession(): void {
  if (!api || Date.now() - state.sessionFetchedAt < 5000) return;
  state.sessionFetchedAt = Date.now();
  void api.get<unknown>("/api/session").then(setSession).catch(() => undefined);
}

async function loadFlow(): Promise<void> {
  // The session so far, by market time (a replay or the simulator may run on another day).
  const end = state.marketTime ? Date.parse(state.marketTime) : Date.now();
  const since = new Date(end - 8 * 3600_000).toISOString();
  const until = new Date(end + 60_000).toISOString();
  const points = await api.get<FlowPoint[]>(
    `/api/flow?limit=5000&since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`,
  );
  if (Array.isArray(points) && points.length) {
    state.flow = points;
    state.openSpot = points[0].spot;
    flow.points = state.flow;
    flow.invalidate();
    renderFlowStats();
    renderSpot();
  }
}

async function panFlow(fraction: number): Promise<void> {
  flow.pan(fraction);
  const first = state.flow[0];
  if (!first || !flow.window || flow.window[0] > Date.parse(first.timestamp)) return;
  try {
    const older = await api.get<FlowPoint[]>(`/api/flow?limit=5000&until=${encodeURIComponent(first.timestamp)}`);
    const fresh = older.filter((p) => p.timestamp < first.timestamp);
    if (fresh.length) {
      state.flow = [...fresh, ...state.flow];
      flow.points = state.flow;
      flow.invalidate();
    }
  } catch {
    /* offline: the banner says so */
  }
}

/** A smile from the hub's `smile` target or a REST load: the table only when it is seen. */
function showSmile(rows: SmileRow[], spot: number, at: string): void {
  smile.rows = rows;
  smile.spot = spot;
  smileAt = at;
  smile.invalidate();
  if (current === "smile") renderSmile();
}
let smileAt = "";

function renderSmile(): void {
  if (!smile.rows.length) return;
  renderSmileTable(smile.rows);
  setText($("smileUpdated"), t("updated", { time: fmt.etTime(smileAt) }));
}

async function refreshGex(): Promise<void> {
  try {
    const g = await api.get<GexSummary | null>("/api/gex");
    if (g) {
      state.gex = g;
      renderGex();
    }
  } catch {
    /* offline */
  }
}

async function loadHistory(): Promise<void> {
  if (state.historyCursor === null) return;
  const cursor = state.historyCursor ? `&cursor=${encodeURIComponent(state.historyCursor)}` : "";
  try {
    const page = await api.get<{ items: unknown[]; next_cursor: string | null }>(`/api/anomalies?limit=50${cursor}`);
    const body = $("history").querySelector("tbody") as HTMLElement;
    for (const e of page.items.filter(validEvent)) {
      const a = e.anomaly;
      body.append(
        el(
          "tr",
          {},
          el("td", { text: fmt.etDateTime(e.at) }),
          el("td", { text: t(e.event) }),
          el("td", { text: contract(e) }),
          el("td", { text: `${a.side === "buy" ? "▲" : "▼"} ${t(a.side)}` }),
          el("td", { text: t(a.kind === "smile" ? "smileKind" : (a.kind as Key)) }),
          el("td", { text: fmt.signedMoney(a.edge) }),
          el("td", { text: `${t(a.severity)}${a.executable === false ? ` · ${t("notExecutable")}` : ""}` }),
        ),
      );
    }
    state.historyCursor = page.next_cursor;
    $("historyEmpty").hidden = body.children.length > 0;
    const older = $("older") as HTMLButtonElement;
    older.disabled = page.next_cursor === null;
    older.dataset.i18n = page.next_cursor === null ? "noOlder" : "loadOlder";
    setText(older, t(older.dataset.i18n as Key));
  } catch {
    /* offline */
  }
}

// ---- theme / language --------------------------------------------------------------------
function applyTheme(theme: string): void {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("theme", theme);
  resetPalette();
  const b = $("theme");
  setText(b, `${theme === "dark" ? "☾" : "☀"} ${t(theme === "dark" ? "themeDark" : "themeLight")}`);
  b.setAttribute("aria-label", `${t("theme")}: ${t(theme === "dark" ? "themeDark" : "themeLight")}`);
  ladder?.invalidate();
  smile?.invalidate();
  gamma?.invalidate();
  flow?.invalidate();
  trading?.chart.invalidate();
}

function relabel(): void {
  fmt.clearFormatCache();
  $("live").replaceChildren(); // announcements are in the language they were made in
  announceQueue = [];
  translate();
  ($("lang") as HTMLSelectElement).value = lang;
  applyTheme(document.documentElement.dataset.theme ?? "dark");
  renderAlertButton();
  renderFeed();
  renderSpot();
  renderLadderHead();
  renderGex();
  renderFlowStats();
  renderSmile();
  trading.relabel();
  const body = $("history").querySelector("tbody") as HTMLElement;
  if (body.children.length) {
    body.replaceChildren();
    state.historyCursor = undefined;
    if (current === "history") void loadHistory();
  }
  ladder.reformat();
  tick();
}

// ---- start ---------------------------------------------------------------------------------
let api: Api;

async function start(): Promise<void> {
  document.documentElement.lang = lang;
  const theme = localStorage.getItem("theme") ?? (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark");
  document.documentElement.dataset.theme = theme;
  buildHeader();
  buildTabs();
  buildViews();
  $("foot").append(el("span", {}, tx("dropped"), ": ", el("span", { id: "dropped", text: "0" })));
  onLang(relabel);
  relabel();
  const hash = location.hash.slice(1);
  if (TABS.some((x) => x.id === hash)) select(hash);
  const config = await loadConfig();
  api = new Api(config.apiBase);
  window.__desk = {
    state,
    clock,
    ladder,
    get strikes() {
      return ladder.strikes;
    },
    get frames() {
      return ladder.frames;
    },
    get pnlPoints() {
      return trading.chart.points.length;
    },
    get ladderAnomalies() {
      return ladder.anomalyCount;
    },
    dictionaries,
    benchLadder,
    benchTable,
  };
  setInterval(tick, 1000);
  clockLoop();
  setInterval(() => {
    if (current === "gamma") void refreshGex();
  }, 3000);
  // The trader's state and marks change without a record (a halt, a reconnect): re-read
  // while the tab is open; records themselves arrive on the hub's `trading` target.
  setInterval(() => {
    if (current === "trading") void trading.load();
  }, 5000);
  setInterval(() => void api.get<unknown>("/api/session").then(setSession).catch(() => undefined), 60_000);
  const live = new Live(config.hubUrl.startsWith("http") ? config.hubUrl : new URL(config.hubUrl, location.href).href, {
    state(s, retryInMs) {
      state.conn = s;
      if (retryInMs != null) state.retryAt = Date.now() + retryInMs;
      else if (s === "reconnecting") state.retryAt = Date.now() + backoff(0);
      renderConn();
    },
    resync,
    anomalies(events, dropped) {
      state.lastData = Date.now();
      addEvents(events, true);
      if (dropped > 0) void resync();
    },
    market: (m) => onMarket(m, true),
    ladder: onLadder,
    smile(m) {
      state.smilePushes++;
      showSmile(m.rows, m.s, m.t);
    },
    dropped() {
      state.dropped++;
    },
    trading: refreshTrading,
  });
  window.__desk.live = live;
  tick();
  await live.start();
}

void start();
