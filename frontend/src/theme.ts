// Colours read once from CSS custom properties (so the canvas follows the theme). The
// palette is Okabe–Ito (colour-blind safe); buy/sell also differ by glyph, never colour alone.
export interface Palette {
  bg: string;
  panel: string;
  fg: string;
  muted: string;
  grid: string;
  band: string;
  spot: string;
  buy: string;
  sell: string;
  call: string;
  put: string;
  net: string;
  fit: string;
  stale: string;
  highlight: string;
}

let current: Palette | null = null;

export function palette(): Palette {
  if (current) return current;
  const s = getComputedStyle(document.documentElement);
  const v = (name: string) => s.getPropertyValue(name).trim() || "#888";
  current = {
    bg: v("--bg"),
    panel: v("--panel"),
    fg: v("--fg"),
    muted: v("--muted"),
    grid: v("--grid"),
    band: v("--band"),
    spot: v("--spot"),
    buy: v("--buy"),
    sell: v("--sell"),
    call: v("--call"),
    put: v("--put"),
    net: v("--net"),
    fit: v("--fit"),
    stale: v("--stale"),
    highlight: v("--highlight"),
  };
  return current;
}

export function resetPalette(): void {
  current = null;
}

/** Size a canvas's backing store to its CSS box at the device pixel ratio; true if changed. */
export function fitCanvas(canvas: HTMLCanvasElement, cssWidth: number, cssHeight: number): boolean {
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  const w = Math.max(1, Math.round(cssWidth * dpr));
  const h = Math.max(1, Math.round(cssHeight * dpr));
  if (canvas.width === w && canvas.height === h) return false;
  canvas.width = w;
  canvas.height = h;
  canvas.style.height = `${cssHeight}px`;
  const ctx = canvas.getContext("2d");
  ctx?.setTransform(dpr, 0, 0, dpr, 0, 0);
  return true;
}
