// The data layer: initial state over REST, then live over @microsoft/signalr (the local hub or
// Azure SignalR: the same code, the backend's negotiate decides). Every hub message is checked
// before use; a malformed or unknown one is dropped and counted, never thrown.
import {
  HubConnection,
  HubConnectionBuilder,
  HubConnectionState,
  type ILogger,
  LogLevel,
} from "@microsoft/signalr";

// ---- wire shapes -------------------------------------------------------------------------
export type Row = (number | null)[]; // spy_backend.ladder.ROW_FIELDS
export const R = {
  strike: 0,
  c: 1,
  p: 10,
  bid: 0,
  ask: 1,
  bidSize: 2,
  askSize: 3,
  ivBid: 4,
  ivAsk: 5,
  volume: 6,
  oi: 7,
  fair: 8,
  fitIv: 19,
} as const;

export interface Ladder {
  seq: number;
  timestamp: string;
  spot: number;
  expiry: string;
  forward: number;
  rows: Row[];
  smile?: (number | null)[][];
  wall_ms?: number;
}

export interface LadderDelta {
  seq: number;
  base: number;
  t: string;
  s: number;
  x: string;
  f: number;
  w?: number;
  rows: Row[];
  gone: number[];
}

export interface Anomaly {
  expiry: string;
  strike: number;
  right: "C" | "P";
  side: "buy" | "sell";
  kind: string;
  bid: number;
  ask: number;
  fair: number;
  edge: number;
  score: number;
  severity: "low" | "medium" | "high";
  confidence?: number;
  executable?: boolean;
  detail?: string;
}

/** The `smile` target as sent: the front expiry's whole smile in integer columns
 * (spy_backend.realtime.smile): strike j is k0 + (ki ? ki[j] : j)·dk; IVs in 0.0001, fair
 * values in cents; a null entry is a missing value, a column left out has none. At least one
 * strike: an empty smile is not sent. */
export interface SmileMessage {
  t: string;
  x: string;
  s: number;
  k0?: number;
  dk?: number;
  ki?: number[];
  b?: (number | null)[];
  a?: (number | null)[];
  f?: (number | null)[];
  v?: (number | null)[];
}

export type SmileRow = (number | null)[]; // [strike, iv_bid, iv_ask, fit_iv, fair]

/** A smile as the page uses it, from a `smile` message or a REST ladder. */
export interface Smile {
  t: string;
  x: string;
  s: number;
  rows: SmileRow[];
}

export interface AnomalyEvent {
  id: string;
  event: "opened" | "escalated" | "cleared";
  underlying: string;
  at: string;
  first_seen: string;
  anomaly: Anomaly;
  peak_edge: number;
  reason?: string;
}

export interface FlowTotals {
  call_buy: number;
  call_sell: number;
  put_buy: number;
  put_sell: number;
  unclassified: number;
  net_call: number;
  net_put: number;
  net: number;
}

export interface GexSummary {
  convention: string;
  spot: number | null;
  total: number | null;
  zero_gamma: number | null;
  call_wall: number | null;
  put_wall: number | null;
  by_strike?: { strike: number; call: number | null; put: number | null; net: number | null }[];
}

export interface MarketMessage {
  underlying: string;
  timestamp: string;
  spot: number;
  open_anomalies: number;
  gex: GexSummary | null;
  flow: FlowTotals;
  warnings?: string[];
}

export interface FlowPoint {
  timestamp: string;
  spot: number;
  flow: { increment: FlowTotals; session: FlowTotals };
}

export interface SessionDay {
  day: string;
  open: string;
  close: string;
  early_close: boolean;
}

/** /api/session: the session at the market clock's now. `clock` says whose time: the real
 * one (a live feed) or the data's own (a simulator or a replay), which runs `rate` market
 * seconds per wall second; `now` is null until simulated data has arrived. */
export interface SessionInfo {
  clock: "real" | "simulated";
  now: string | null;
  rate: number;
  open: boolean | null;
  phase: "pre" | "open" | "after" | "closed" | null;
  session: SessionDay | null;
  next: SessionDay | null;
}

// The trader's records (spy_core.trading) as /api/positions|trades|signals|pnl answer them.
export interface ContractRef {
  underlying: string;
  expiry: string;
  strike: number;
  right: "C" | "P";
}

export interface PositionPoint {
  at: string;
  contract: ContractRef;
  quantity: number;
  avg_cost: number;
  mark: number | null;
  fair: number | null;
}

export interface OrderReport {
  order_ref: string;
  signal_id: string;
  at: string;
  contract: ContractRef;
  action: "BUY" | "SELL";
  quantity: number;
  limit: number;
  status: string;
  filled: number;
  avg_price: number;
}

export interface FillReport {
  exec_id: string;
  order_ref: string;
  at: string;
  contract: ContractRef;
  action: "BUY" | "SELL";
  quantity: number;
  price: number;
  commission: number;
}

export interface SignalItem {
  signal: {
    id: string;
    at: string;
    intent: "open" | "close";
    legs: { contract: ContractRef; action: "BUY" | "SELL"; quantity: number; limit: number }[];
    reason: string;
    expected_edge: number;
  };
  decision: { taken: boolean; rule: string; detail: string; state: string } | null;
}

export type TradingState = "active" | "reducing" | "halted";

export interface PnlPoint {
  at: string;
  day: string;
  realized: number;
  unrealized_mid: number;
  unrealized_fair: number;
  commissions: number;
  state: TradingState;
  open_positions: number;
  premium_at_risk: number;
  net_delta: number;
}

export interface TraderStatus {
  configured: boolean;
  reachable: boolean;
  state: TradingState | null;
  reason: string;
  ready: boolean;
  limits: {
    max_open_positions: number;
    max_premium_at_risk: number;
    max_net_delta: number;
    max_daily_loss: number;
  } | null;
}

// ---- validation ----------------------------------------------------------------------------
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === "string";
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isRow = (v: unknown): v is Row =>
  Array.isArray(v) && v.length === 20 && v.every((x) => x === null || isNum(x)) && isNum(v[0]);

export function validEvent(v: unknown): v is AnomalyEvent {
  if (!isObj(v) || !isStr(v.id) || !isStr(v.at) || !isObj(v.anomaly)) return false;
  if (v.event !== "opened" && v.event !== "escalated" && v.event !== "cleared") return false;
  const a = v.anomaly;
  return (
    isNum(a.strike) &&
    (a.right === "C" || a.right === "P") &&
    (a.side === "buy" || a.side === "sell") &&
    isNum(a.edge) &&
    isNum(a.fair) &&
    isStr(a.expiry) &&
    (a.severity === "low" || a.severity === "medium" || a.severity === "high")
  );
}

export function validMarket(v: unknown): v is MarketMessage {
  return isObj(v) && isNum(v.spot) && isStr(v.timestamp) && isObj(v.flow) && isNum(v.flow.net);
}

export function validDelta(v: unknown): v is LadderDelta {
  return (
    isObj(v) &&
    isNum(v.seq) &&
    isNum(v.base) &&
    isNum(v.s) &&
    isStr(v.t) &&
    Array.isArray(v.rows) &&
    v.rows.every(isRow) &&
    Array.isArray(v.gone) &&
    v.gone.every(isNum)
  );
}

const SMILE_COLUMNS = [
  ["b", 1e-4],
  ["a", 1e-4],
  ["f", 1e-4],
  ["v", 0.01],
] as const;
const MAX_SMILE_STRIKES = 2000;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isColumn = (v: unknown): v is (number | null)[] =>
  Array.isArray(v) && v.length <= MAX_SMILE_STRIKES && v.every((x) => x === null || Number.isSafeInteger(x));

export function validSmile(v: unknown): v is SmileMessage {
  if (!isObj(v) || !isStr(v.t) || !isStr(v.x) || !isNum(v.s)) return false;
  const columns = SMILE_COLUMNS.map(([name]) => v[name]).filter((c) => c !== undefined);
  if (!columns.every(isColumn)) return false;
  const n = columns.length ? (columns[0] as unknown[]).length : 0;
  if (!columns.every((c) => (c as unknown[]).length === n)) return false;
  if (n === 0 || !isNum(v.k0) || !isNum(v.dk) || !(v.dk > 0)) return false;
  if (v.ki === undefined) return true;
  return Array.isArray(v.ki) && v.ki.length === n && v.ki.every(isCount);
}

/** A valid `smile` message's rows, strikes to the cent. */
export function decodeSmile(m: SmileMessage): Smile {
  const columns = SMILE_COLUMNS.map(([name, unit]) => [m[name], unit] as const);
  const n = Math.max(0, ...columns.map(([c]) => c?.length ?? 0));
  const rows: SmileRow[] = [];
  for (let j = 0; j < n; j++) {
    const strike = Math.round(((m.k0 as number) + (m.ki ? m.ki[j] : j) * (m.dk as number)) * 100) / 100;
    const values = columns.map(([c, unit]) => {
      const value = c?.[j];
      return value == null ? null : Math.round(value * unit * 1e4) / 1e4;
    });
    rows.push([strike, ...values]);
  }
  return { t: m.t, x: m.x, s: m.s, rows };
}

export function validSession(v: unknown): v is SessionInfo {
  return isObj(v) && (v.clock === "real" || v.clock === "simulated") && (v.now === null || isStr(v.now)) && isNum(v.rate);
}

export function validLadder(v: unknown): v is Ladder {
  return isObj(v) && isNum(v.seq) && isNum(v.spot) && Array.isArray(v.rows) && v.rows.every(isRow);
}

// ---- REST ----------------------------------------------------------------------------------
export interface Config {
  apiBase: string;
  hubUrl: string;
}

export async function loadConfig(): Promise<Config> {
  try {
    const r = await fetch("config.json", { cache: "no-store" });
    if (r.ok) {
      const c = (await r.json()) as Partial<Config>;
      const apiBase = isStr(c.apiBase) ? c.apiBase.replace(/\/$/, "") : "";
      return { apiBase, hubUrl: isStr(c.hubUrl) ? c.hubUrl : `${apiBase}/hub` };
    }
  } catch {
    /* fall through: same origin */
  }
  return { apiBase: "", hubUrl: "/hub" };
}

export class Api {
  constructor(private readonly base: string) {}
  async get<T>(path: string): Promise<T> {
    const r = await fetch(`${this.base}${path}`, { headers: { accept: "application/json" } });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    return (await r.json()) as T;
  }
  /** An authenticated write: the status and the JSON body (null when there is none). */
  async post(path: string, body: unknown, token: string): Promise<{ status: number; body: unknown }> {
    const r = await fetch(`${this.base}${path}`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  }
}

// ---- live ----------------------------------------------------------------------------------
export type ConnState = "connecting" | "live" | "reconnecting" | "offline";

export interface LiveHandlers {
  state(s: ConnState, retryInMs?: number): void;
  resync(): Promise<void>;
  anomalies(events: AnomalyEvent[], dropped: number): void;
  market(m: MarketMessage): void;
  ladder(d: LadderDelta, receivedAt: number): void;
  smile(m: Smile): void;
  dropped(): void;
  /** The trader posted records (`trading` target): re-read the trading views. */
  trading(): void;
}

/** Backoff for reconnects: 0.5 s doubling to 15 s, with ±20% jitter, forever. */
export function backoff(attempt: number): number {
  const base = Math.min(15_000, 500 * 2 ** Math.min(attempt, 8));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

class CountingLogger implements ILogger {
  constructor(private readonly onUnknown: () => void) {}
  log(level: LogLevel, message: string): void {
    if (message.includes("No client method with the name")) {
      this.onUnknown();
      return;
    }
    if (level >= LogLevel.Error) console.error(`[hub] ${message}`);
    else if (level >= LogLevel.Warning) console.warn(`[hub] ${message}`);
  }
}

export class Live {
  private conn: HubConnection;
  private attempt = 0;
  private stopped = false;

  constructor(hubUrl: string, private readonly h: LiveHandlers) {
    this.conn = new HubConnectionBuilder()
      .withUrl(hubUrl)
      .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (c) => backoff(c.previousRetryCount) })
      .configureLogging(new CountingLogger(() => h.dropped()))
      .build();
    this.conn.serverTimeoutInMilliseconds = 40_000;
    this.conn.keepAliveIntervalInMilliseconds = 10_000;
    const guard =
      <T>(check: (v: unknown) => v is T, use: (v: T) => void) =>
      (v: unknown) => {
        try {
          if (check(v)) use(v);
          else h.dropped();
        } catch (e) {
          h.dropped();
          console.warn("[hub] message handler failed", e);
        }
      };
    this.conn.on(
      "anomalies",
      guard(
        (v): v is { events: unknown[]; dropped: number } => isObj(v) && Array.isArray(v.events),
        (v) => {
          const good = v.events.filter(validEvent);
          for (let i = good.length; i < v.events.length; i++) h.dropped();
          h.anomalies(good, isNum(v.dropped) ? v.dropped : 0);
        },
      ),
    );
    this.conn.on("market", guard(validMarket, (m) => h.market(m)));
    this.conn.on("ladder", guard(validDelta, (d) => h.ladder(d, performance.now())));
    this.conn.on("smile", guard(validSmile, (m) => h.smile(decodeSmile(m))));
    this.conn.on("trading", guard(isObj, () => h.trading()));
    this.conn.onreconnecting(() => h.state("reconnecting"));
    this.conn.onreconnected(async () => {
      h.state("live");
      await h.resync();
    });
    this.conn.onclose(() => {
      if (!this.stopped) void this.start();
    });
  }

  async start(): Promise<void> {
    while (!this.stopped && this.conn.state === HubConnectionState.Disconnected) {
      this.h.state(this.attempt === 0 ? "connecting" : "offline");
      try {
        await this.conn.start();
        this.attempt = 0;
        this.h.state("live");
        await this.h.resync();
        return;
      } catch {
        const wait = backoff(this.attempt++);
        this.h.state("offline", wait);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.conn.stop();
  }
}
