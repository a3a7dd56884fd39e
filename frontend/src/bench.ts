// Benchmark hooks (bench/frontend_benchmark.py drives them in Chromium): the ladder canvas
// with N strikes all updating at H Hz, against a peer — the same updates written into a
// plain <table> — measured in the same page.
import { R, type Row } from "./data";
import * as fmt from "./fmt";
import { LadderView } from "./ladder";

function rows(n: number, seed: number): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < n; i++) {
    const k = 570 + i;
    const r: Row = new Array(20).fill(null);
    r[0] = k;
    for (const base of [R.c, R.p]) {
      const px = Math.abs(Math.sin(seed + i + base)) * 10;
      r[base + R.bid] = Math.round(px * 100) / 100;
      r[base + R.ask] = Math.round((px + 0.03) * 100) / 100;
      r[base + R.bidSize] = (seed * 7 + i) % 900;
      r[base + R.askSize] = (seed * 5 + i) % 900;
      r[base + R.ivBid] = 0.15 + (i % 7) / 100;
      r[base + R.ivAsk] = 0.16 + (i % 7) / 100;
      r[base + R.volume] = 1000 + seed + i;
      r[base + R.oi] = 10000 + i;
    }
    out.push(r);
  }
  return out;
}

function host(): HTMLElement {
  const div = document.createElement("div");
  div.style.width = "1200px";
  document.body.prepend(div);
  return div;
}

/** Canvas ladder while every strike changes at `hz`: per-frame draw times, per-update row
 * formatting times and per-frame main-thread times with the rendering (ms). The last run
 * from the start of the frame's first animation callback to the first task after the frame:
 * the ladder's paint plus the page's style, layout and the canvas's rasterisation. */
export function benchLadder(
  n = 60,
  hz = 20,
  ms = 5000,
): Promise<{ draw: number[]; update: number[]; render: number[] }> {
  const box = host();
  const view = new LadderView(box);
  view.model.spot = 570 + n / 2;
  view.setRows(rows(n, 0));
  let seed = 1;
  const update: number[] = [];
  const render: number[] = [];
  const after = new MessageChannel();
  let frameStart = 0;
  after.port1.onmessage = () => render.push(performance.now() - frameStart);
  let timer = 0;
  // Updates start once the first (full) paint is done: frame i then paints update i.
  requestAnimationFrame(() => {
    view.frames.length = 0;
    timer = window.setInterval(tick, 1000 / hz);
  });
  const tick = () => {
    const next = rows(n, seed++);
    // Before the ladder's own callback: this one runs first in the frame.
    requestAnimationFrame(() => {
      frameStart = performance.now();
      after.port2.postMessage(null);
    });
    const start = performance.now();
    view.applyRows(next, []);
    update.push(performance.now() - start);
  };
  return new Promise((resolve) =>
    setTimeout(() => {
      clearInterval(timer);
      const draw = view.frames.slice();
      box.remove();
      after.port1.close();
      resolve({ draw, update, render });
    }, ms),
  );
}

/** The peer: the same updates as text in a DOM table, timed through style and layout. */
export function benchTable(n = 60, hz = 20, ms = 5000): Promise<number[]> {
  const box = host();
  const table = document.createElement("table");
  const cells: HTMLTableCellElement[][] = [];
  for (let i = 0; i < n; i++) {
    const tr = table.insertRow();
    cells.push(Array.from({ length: 13 }, () => tr.insertCell()));
  }
  box.append(table);
  const frames: number[] = [];
  let seed = 1;
  let pending: Row[] | null = null;
  const timer = setInterval(() => {
    pending = rows(n, seed++);
    requestAnimationFrame(() => {
      if (!pending) return;
      const start = performance.now();
      pending.forEach((r, i) => {
        const c = cells[i];
        c[0].textContent = fmt.compact(r[R.c + R.oi]);
        c[1].textContent = fmt.compact(r[R.c + R.volume]);
        c[2].textContent = fmt.pct(r[R.c + R.ivBid], 1);
        c[3].textContent = `${fmt.int(r[R.c + R.bidSize])}×${fmt.int(r[R.c + R.askSize])}`;
        c[4].textContent = fmt.num(r[R.c + R.bid]);
        c[5].textContent = fmt.num(r[R.c + R.ask]);
        c[6].textContent = fmt.strike(r[0] as number);
        c[7].textContent = fmt.num(r[R.p + R.bid]);
        c[8].textContent = fmt.num(r[R.p + R.ask]);
        c[9].textContent = `${fmt.int(r[R.p + R.bidSize])}×${fmt.int(r[R.p + R.askSize])}`;
        c[10].textContent = fmt.pct(r[R.p + R.ivBid], 1);
        c[11].textContent = fmt.compact(r[R.p + R.volume]);
        c[12].textContent = fmt.compact(r[R.p + R.oi]);
      });
      table.getBoundingClientRect(); // force style + layout, as a paint would
      frames.push(performance.now() - start);
      pending = null;
    });
  }, 1000 / hz);
  return new Promise((resolve) =>
    setTimeout(() => {
      clearInterval(timer);
      box.remove();
      resolve(frames);
    }, ms),
  );
}
