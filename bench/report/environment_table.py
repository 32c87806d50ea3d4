"""Rows of the report's environment table beyond the software and the machine: the
server settings that change results, how busy the machine was, and the --rtt network."""

from __future__ import annotations

from typing import Any

from bench.results.units import fmt_duration


def environment_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    env = doc.get("environment") or {}
    rows = []
    settings = env.get("server_settings")
    if settings:
        rows.append(("server settings", ", ".join(f"{k} = {v}" for k, v in settings.items())))
    for when in ("start", "end"):
        if env.get(f"load_{when}"):
            rows.append((f"machine load at {when}", load_text(env[f"load_{when}"])))
    rows.extend(network_rows(doc))
    return rows


def load_text(load: dict[str, Any]) -> str:
    """`load 1.41 1.40 1.19 · CPU pressure 3% (10 s), 11% (60 s), 17% (300 s)`."""
    parts = []
    if load.get("loadavg"):
        parts.append("load " + " ".join(f"{v:.2f}" for v in load["loadavg"]))
    pressure = load.get("cpu_pressure")
    if pressure:
        parts.append("CPU pressure " + ", ".join(
            f"{pressure[f'some_avg{window}']:.0f}% ({window} s)" for window in (10, 60, 300)))
    return " · ".join(parts) or "not recorded"


def network_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The RTTs asked for and what the proxy really added (its calibration), its CPU."""
    rtts = (doc.get("config") or {}).get("rtt_ms")
    network = doc.get("network")
    if not rtts or not network:
        return []
    timing = "SCHED_FIFO" if network.get("realtime") else "normal scheduling"
    rows = [("network", f"through sqla-bench's delaying proxy to {network.get('target', '?')} "
                        f"at RTT {', '.join(f'{r:g}' for r in rtts)} ms ({timing}; proxy CPU "
                        f"{fmt_duration((network.get('proxy_cpu_ms') or 0) * 1e6)} in all)")]
    for item in network.get("calibration") or []:
        rows.append((f"proxy at RTT {item['rtt_ms']:g} ms",
                     f"SELECT 1 {fmt_duration(item['direct_us'] * 1e3)} direct, "
                     f"{fmt_duration(item['through_proxy_us'] * 1e3)} through the proxy: "
                     f"adds {fmt_duration(item['added_us'] * 1e3)} "
                     f"(median of {item['samples']} paired samples)"))
    if network.get("fell_back"):
        rows.append(("network fault", network["fell_back"]))
    return rows
