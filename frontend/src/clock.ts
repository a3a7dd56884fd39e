// The market clock the header shows (ET time, session phase, countdown). A live feed's market
// runs on the real clock (the server's, when this machine's is more than 2 s off). Simulated
// or replayed data runs on its own clock: /api/session gives its now and its pace (market
// seconds per wall second), and every live hub update re-anchors it on the update's market
// time, so it does not drift; between updates it runs on at that pace, and it never goes back
// (an update older than the time shown holds the clock until the data catches up).

export type ClockKind = "real" | "simulated";

export class MarketClock {
  kind: ClockKind = "real";
  private rate = 1;
  private anchor: { wall: number; market: number } | null = null;
  private shown = -Infinity;

  /** Market milliseconds per wall millisecond. */
  get pace(): number {
    return this.kind === "simulated" ? this.rate : 1;
  }

  /** /api/session's answer, received at `wall` (ms). `now` is null while simulated data has
   * not arrived. */
  fromServer(kind: ClockKind, now: string | null, rate: number, wall = Date.now()): void {
    if (kind !== this.kind) {
      this.anchor = null;
      this.shown = -Infinity;
    }
    this.kind = kind;
    this.rate = kind === "simulated" && Number.isFinite(rate) && rate >= 0 ? rate : 1;
    const market = now == null ? NaN : Date.parse(now);
    if (Number.isNaN(market)) return;
    const real = kind === "real" && Math.abs(market - wall) < 2000;
    this.anchor = { wall, market: real ? wall : market };
  }

  /** A live hub update stamped with the market time `at` arrived at `wall`. */
  observe(at: string, wall = Date.now()): void {
    if (this.kind !== "simulated") return;
    const market = Date.parse(at);
    if (!Number.isNaN(market)) this.anchor = { wall, market };
  }

  /** The market's now, or null when the simulated clock is not known yet. */
  now(wall = Date.now()): Date | null {
    if (!this.anchor) return this.kind === "real" ? new Date(wall) : null;
    this.shown = Math.max(this.shown, this.anchor.market + (wall - this.anchor.wall) * this.pace);
    return new Date(this.shown);
  }
}
