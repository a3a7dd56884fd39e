// Numbers, money and times through Intl in the page's language; market times always in
// New York time, labelled ET.
import { lang } from "./i18n";

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function nf(key: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const id = `${lang}|n|${key}`;
  let f = cache.get(id) as Intl.NumberFormat | undefined;
  if (!f) {
    f = new Intl.NumberFormat(lang, options);
    cache.set(id, f);
  }
  return f;
}

function df(key: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const id = `${lang}|d|${key}`;
  let f = cache.get(id) as Intl.DateTimeFormat | undefined;
  if (!f) {
    f = new Intl.DateTimeFormat(lang, options);
    cache.set(id, f);
  }
  return f;
}

export const DASH = "–";

export function num(value: number | null | undefined, digits = 2): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  return nf(`f${digits}`, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

export function int(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  return nf("int", { maximumFractionDigits: 0 }).format(value);
}

export function compact(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return DASH;
  return nf("compact", { notation: "compact", maximumFractionDigits: 1 }).format(value);
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
  return nf(`p${digits}${signed}`, {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    signDisplay: signed ? "exceptZero" : "auto",
  }).format(value);
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
}
