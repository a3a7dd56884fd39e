// Small DOM helpers shared by the views.
import type { Key } from "./i18n";

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

export const tx = (key: Key, tag: keyof HTMLElementTagNameMap = "span", attrs: Record<string, string> = {}) =>
  el(tag, { ...attrs, "data-i18n": key });

export function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
