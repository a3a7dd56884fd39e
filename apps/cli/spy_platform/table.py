"""Plain-text tables for people reading a terminal (the JSON form is for programs)."""

from __future__ import annotations

from collections.abc import Sequence

_ANOMALY_COLUMNS = (
    ("expiry", "expiry", "{}"),
    ("strike", "strike", "{:g}"),
    ("right", "", "{}"),
    ("side", "side", "{}"),
    ("kind", "kind", "{}"),
    ("bid", "bid", "{:.2f}"),
    ("ask", "ask", "{:.2f}"),
    ("fair", "fair", "{:.3f}"),
    ("edge", "edge", "{:+.3f}"),
    ("score", "score", "{:.1f}"),
    ("confidence", "conf", "{:.2f}"),
    ("severity", "severity", "{}"),
)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; numbers are right-aligned by the caller's format."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    body = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, "  ".join("-" * w for w in widths), *body])


def render_analysis(result: dict) -> str:
    """One file's analysis: a header, the expiries, the anomalies and the gamma summary."""
    if "error" in result:
        return f"== {result['source']}\nerror: {result['error']}\n"
    parts = [f"== {result['source']}  {result['timestamp']}  spot {result['spot']:g}"]
    parts += [_warning_line(w) for w in result.get("warnings", [])]
    parts.append(_expiries(result["expiries"]))
    anomalies = result["anomalies"]
    if anomalies:
        rows = [[fmt.format(a[key]) for key, _, fmt in _ANOMALY_COLUMNS] for a in anomalies]
        study = "" if result.get("market_open", True) else " (market closed: for study only)"
        parts.append(f"{len(anomalies)} anomalies{study}")
        parts.append(format_table([h for _, h, _ in _ANOMALY_COLUMNS], rows))
    else:
        parts.append("no anomalies")
    if result.get("gex"):
        parts.append(_gex_line(result["gex"]))
    if result.get("excluded"):
        parts.append("excluded: " + ", ".join(f"{k} {v}" for k, v in result["excluded"].items()))
    return "\n".join(parts) + "\n"


def _warning_line(warning: dict) -> str:
    """`warning: stale_underlying: quoted 4505.1, implied 4510.1, difference -5 — detail`."""
    numbers = ", ".join(
        f"{k} {v:g}" for k, v in warning.items() if isinstance(v, int | float) and k != "kind"
    )
    detail = warning.get("detail", "")
    return f"warning: {warning['kind']}: " + " — ".join(p for p in (numbers, detail) if p)


def _expiries(expiries: list[dict]) -> str:
    headers = ["expiry", "root", "min left", "forward", "atm vol", "quotes", "fitted", "fit"]
    rows = [
        [
            e["expiry"],
            e["root"] or "",
            f"{e['minutes_to_expiry']:.0f}",
            f"{e['forward']:.2f}",
            "-" if e["atm_vol"] is None else f"{100 * e['atm_vol']:.1f}%",
            str(e["quotes"]),
            str(e["fitted"]),
            "-" if e["fit_residual_scale"] is None else f"{e['fit_residual_scale']:.2f}",
        ]
        for e in expiries
    ]
    return format_table(headers, rows)


def _gex_line(gex: dict) -> str:
    def level(value: float | None) -> str:
        return "none" if value is None else f"{value:g}"

    return (
        f"gamma ({gex['convention']}): total ${gex['total'] / 1e6:,.1f}M per 1%, "
        f"zero-gamma {level(gex['zero_gamma'])}, call wall {level(gex['call_wall'])}, "
        f"put wall {level(gex['put_wall'])}"
    )
