// Numbers, money and times through Intl in the page's language; market times always in
// New York time, labelled ET.
import { lang } from "./i18n";

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

/** One formatter per language and options key, built on first use. */
function cached<F extends Intl.NumberFormat | Intl.DateTimeFormat>(id: string, make: () => F): F {
  let f = cache.get(`${lang}|${id}`) as F | undefined;
  if (!f) {
    f = make();
    cache.set(`${lang}|${id}`, f);
  }
  return f;
}

const nf = (key: string, options: Intl.NumberFormatOptions) =>
  cached(`n|${key}`, () => new Intl.NumberFormat(lang, options));
const df = (key: string, options: Intl.DateTimeFormatOptions) =>
  cached(`d|${key}`, () => new Intl.DateTimeFormat(lang, options));

export const DASH = "–";

// The ladder formats thousands of cells a second: prices under 1,000 (no grouping in either
// language) take a fast path, the same digits as Intl with the language's decimal sign, and
// other formatted values are remembered (sizes, volumes and IVs repeat).
const decimalSign = new Map<string, string>();
function decimal(): string {
  let sign = decimalSign.get(lang);
  if (sign === undefined) {
    sign = nf("f1", { minimumFractionDigits: 1, maximumFractionDigits: 1 }).formatToParts(1.5).find((x) => x.type === "decimal")?.value ?? ".";
    decimalSign.set(lang, sign);
  }
  return sign;
}

const memos = new Map<string, Map<number, string>>();
function memo(id: string, value: number, make: () => string): string {
  let known = memos.get(`${lang}|${id}`);
  if (!known) {
    known = new Map();
    memos.set(`${lang}|${id}`, known);
  }
  let text = known.get(value);
  if (text === undefined) {
    if (known.size > 4096) known.clear();
    text = make();
    known.set(value, text);
  }
  return text;
}

export function num(value: number | null | undefined, digits = 2): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  if (value >= 0 && value < 1000) {
    const text = value.toFixed(digits);
    return digits > 0 ? text.replace(".", decimal()) : text;
  }
  return nf(`f${digits}`, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

export function int(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  return memo("int", value, () => nf("int", { maximumFractionDigits: 0 }).format(value));
}

export function compact(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  return memo("compact", value, () => nf("compact", { notation: "compact", maximumFractionDigits: 1 }).format(value));
}

export function money(value: number | null | undefined, digits = 2): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  return nf(`usd${digits}`, {
    style: "currency",
    currency: "USD",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

export function moneyCompact(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  return nf("usdc", { style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 1 }).format(value);
}

export function signedMoney(value: number | null | undefined, digits = 2): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  return nf(`susd${digits}`, {
    style: "currency",
    currency: "USD",
    signDisplay: "exceptZero",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

export function pct(value: number | null | undefined, digits = 1, signed = false): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  const id = `p${digits}${signed}`;
  return memo(id, value, () =>
    nf(id, {
      style: "percent",
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
      signDisplay: signed ? "exceptZero" : "auto",
    }).format(value),
  );
}

/** 14:03:27 ET (New York time, whatever the viewer's zone). */
export function etTime(date: Date | string | number): string {
  const d = date instanceof Date ? date : new Date(date);
  if (Number.isNaN(d.getTime())) return DASH;
  return `${df("et", { timeZone: "America/New_York", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(d)} ET`;
}

export function etShort(date: Date | string | number): string {
  const d = date instanceof Date ? date : new Date(date);
  if (Number.isNaN(d.getTime())) return DASH;
  return `${df("ets", { timeZone: "America/New_York", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(d)} ET`;
}

export function etDateTime(date: Date | string | number): string {
  const d = date instanceof Date ? date : new Date(date);
  if (Number.isNaN(d.getTime())) return DASH;
  return `${df("etdt", { timeZone: "America/New_York", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(d)} ET`;
}

export function localTime(date: Date): string {
  return df("local", { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" }).format(date);
}

export function date(iso: string): string {
  const d = new Date(`${iso}T12:00:00Z`);
  if (Number.isNaN(d.getTime())) return iso;
  return df("date", { timeZone: "UTC", weekday: "short", month: "short", day: "numeric" }).format(d);
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return DASH;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = nf("two", { minimumIntegerDigits: 2, useGrouping: false });
  return `${h}:${two.format(m)}:${two.format(s % 60)}`;
}

export function strike(value: number): string {
  return nf("strike", { maximumFractionDigits: 2 }).format(value);
}

export function clearFormatCache(): void {
  cache.clear();
  memos.clear();
}
