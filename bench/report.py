#!/usr/bin/python3
"""Turns the JSON files of bench/run.sh into the results section of docs/benchmarks.md."""
import json
import platform
import subprocess
import sys
from pathlib import Path

out = Path(sys.argv[1])
idle_sessions = int(sys.argv[2])
r = {name: json.loads((out / f"{name}.json").read_text()) for name in ("limit", "throughput", "latency", "idle")}
rss_before = int((out / "rss_before_kib").read_text())
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()

limit = r["limit"]["events_per_second"]
through = r["throughput"]["events_per_second"]
lat = r["latency"]
idle_kib = (r["idle"]["gateway_rss_kib"] - rss_before) / idle_sessions

def ok(flag):
    return "met" if flag else "**not met**"

print(f"Measured on {cpu}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, "
      f"{platform.system()} {platform.release()}; gateway, redis-server and the bench on the same machine.\n")
print(f"ssebridge / limit: {through / limit:.2f}×\n")
print("| measure | result | goal |")
print("| --- | --- | --- |")
print(f"| one Redis subscriber connection (limit), {r['limit']['sessions']} channels | {limit:,.0f} events/s | — |")
print(f"| ssebridge, {r['throughput']['sessions']} SSE sessions | {through:,.0f} events/s | ≥ 0.8 × limit: {ok(through >= 0.8 * limit)} |")
print(f"| latency at {lat['delivered'] / lat['seconds']:,.0f} events/s over {lat['sessions']} sessions | "
      f"p50 {lat['latency_us']['p50']} µs, p90 {lat['latency_us']['p90']} µs, p99 {lat['latency_us']['p99']} µs, "
      f"p99.9 {lat['latency_us']['p99_9']} µs, max {lat['latency_us']['max']} µs | p99 ≤ 1000 µs: {ok(lat['latency_us']['p99'] <= 1000)} |")
print(f"| gateway RSS per idle session, {idle_sessions} sessions | {idle_kib:.2f} KiB | ≤ 4 KiB: {ok(idle_kib <= 4)} |")
