#!/usr/bin/python3
"""Turns the JSON files of bench/run.sh into the results section of
docs/benchmarks.md (Markdown on stdout) and its plots (SVG files).

    bench/report.py RESULTS_DIR PLOTS_DIR
"""
import json
import math
import platform
import subprocess
import sys
from pathlib import Path

out = Path(sys.argv[1])
plots = Path(sys.argv[2])
plots.mkdir(parents=True, exist_ok=True)


def load(name):
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def median_run(name):
    """The run with the median p99 of NAME-1..3, and the p99 of each run."""
    runs = [r for r in (load(f"{name}-{i}") for i in (1, 2, 3)) if r]
    if not runs:
        return None, []
    runs.sort(key=lambda r: r["latency_us"]["p99"])
    return runs[len(runs) // 2], [r["latency_us"]["p99"] for r in runs]


def ok(flag):
    return "met" if flag else "**not met**"


def lat_text(r):
    l = r["latency_us"]
    return (f"p50 {l['p50']:,} µs, p90 {l['p90']:,} µs, p99 {l['p99']:,} µs, "
            f"p99.9 {l['p99_9']:,} µs, max {l['max']:,} µs")


def cpu_us_per_event(r):
    return 1e6 * r["server_cpu_seconds"] / max(r["delivered"], 1)


# --- SVG plots, drawn by hand: no plotting library to install -----------------

def svg_plot(path, title, xlabel, ylabel, series, logx=False, logy=False, nines=False):
    """series: [(name, colour, [(x, y), ...])]; nines: y is a percentile drawn
    on a scale of nines (90, 99, 99.9, …), so the tail gets the room."""
    w, h, left, right, top, bottom = 720, 420, 80, 190, 40, 60
    pts = [p for _, _, s in series for p in s]
    tx = (lambda v: math.log10(max(v, 1e-9))) if logx else (lambda v: v)
    ty = (lambda v: math.log10(max(v, 1e-9))) if logy else (lambda v: v)
    if nines:
        ty = lambda v: -math.log10(max(1 - v / 100, 1e-5))
    xs = [tx(x) for x, _ in pts]
    ys = [ty(y) for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = (min(ys), max(ys)) if logy else (0, max(ys) * 1.05)
    if nines:
        y0, y1 = 0, 4.2
    if logx:
        x0, x1 = math.floor(x0), math.ceil(x1)
    if logy:
        y0, y1 = math.floor(y0), math.ceil(y1)
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def px(x):
        return left + (tx(x) - x0) / (x1 - x0) * (w - left - right)

    def py(y):
        return h - bottom - (ty(y) - y0) / (y1 - y0) * (h - top - bottom)

    def fmt(v):
        return f"{v:,.0f}" if v >= 10 and v == int(v) else f"{v:g}"

    def ticks(lo, hi, log):
        if log:
            return [10 ** e for e in range(int(lo), int(hi) + 1)]
        step = 10 ** math.floor(math.log10((hi - lo) / 5 or 1))
        for m in (1, 2, 5, 10):
            if (hi - lo) / (step * m) <= 6:
                step *= m
                break
        return [lo + i * step for i in range(int((hi - lo) / step) + 1)]

    e = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
         f'<rect width="{w}" height="{h}" fill="white"/>',
         f'<clipPath id="plot"><rect x="{left}" y="{top}" width="{w - left - right}" '
         f'height="{h - top - bottom}"/></clipPath>',
         f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>']
    for t in ticks(x0, x1, logx):
        e.append(f'<line x1="{px(t):.1f}" y1="{top}" x2="{px(t):.1f}" y2="{h - bottom}" stroke="#ddd"/>')
        e.append(f'<text x="{px(t):.1f}" y="{h - bottom + 16}" text-anchor="middle">{fmt(t)}</text>')
    for t in ([0, 90, 99, 99.9, 99.99] if nines else ticks(y0, y1, logy)):
        e.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{w - right}" y2="{py(t):.1f}" stroke="#ddd"/>')
        e.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
    e.append(f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" fill="none" stroke="#333"/>')
    e.append(f'<text x="{(left + w - right) / 2}" y="{h - 18}" text-anchor="middle">{xlabel}</text>')
    e.append(f'<text x="18" y="{(top + h - bottom) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 18 {(top + h - bottom) / 2})">{ylabel}</text>')
    for i, (name, colour, s) in enumerate(series):
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s)
        e.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2" '
                 'clip-path="url(#plot)"/>')
        for x, y in s if len(s) < 12 else []:
            e.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 16 + 20 * i
        e.append(f'<line x1="{w - right + 12}" y1="{ly}" x2="{w - right + 36}" y2="{ly}" stroke="{colour}" stroke-width="3"/>')
        e.append(f'<text x="{w - right + 42}" y="{ly + 4}">{name}</text>')
    e.append("</svg>")
    path.write_text("\n".join(e) + "\n")


def cdf(r):
    return [(max(v, 1), p) for p, v in r["latency_cdf_us"]]


# --- the numbers --------------------------------------------------------------

cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
limit = load("limit")
limit_lat, limit_p99s = median_run("limit-latency")
sizes = [s for s in (100, 1000, 10000) if load(f"throughput-ssebridge-{s}")]
tp = {s: (load(f"throughput-ssebridge-{s}"), load(f"throughput-nchan-{s}")) for s in sizes}
(lat_s, lat_s_p99s), (lat_n, lat_n_p99s) = median_run("latency-ssebridge"), median_run("latency-nchan")
lat_f, lat_f_p99s = median_run("latency-floor")
pinned = (out / "pinning").exists() and "yes" in (out / "pinning").read_text()
(slow_s, slow_s_p99s), (slow_n, slow_n_p99s) = median_run("slow-ssebridge"), median_run("slow-nchan")


def p99_range(p99s):
    return "p99 of the three runs: " + " / ".join(f"{v:,} µs" for v in p99s)
setup = load("setup-ssebridge")
idle_s, idle_n = load("idle-ssebridge"), load("idle-nchan")
nchan_redis = load("throughput-nchan-redis-1000")

through_1000, nchan_1000 = tp[1000]
limit_eps = limit["events_per_second"]
ratio_nchan = through_1000["events_per_second"] / nchan_1000["events_per_second"]
ratio_p99 = lat_n["latency_us"]["p99"] / max(lat_s["latency_us"]["p99"], 1)


def idle_kib(r, name):
    before = int((out / f"{name}.rss_before").read_text())
    return (r["gateway_rss_kib"] - before) / r["sessions"]


print(f"Measured on {cpu}, {cores} cores, {platform.system()} {platform.release()}; the servers, "
      "redis-server and the bench share the machine. Command: `bench/run.sh`.\n")
record_plain, record_on = load("record-plain"), load("record-record")
record_pair = load("record-pair")
if record_on:
    print(f"**The path every worker takes: recorded** (the worker libraries' `MULTI`/`EXEC`: the log "
          f"entry and the message), 1,000 sessions: **{record_on['events_per_second']:,.0f} events/s**, "
          f"{cpu_us_per_event(record_on):.1f} µs gateway CPU per event; plain `PUBLISH` beside it: "
          f"{record_plain['events_per_second']:,.0f} events/s, {cpu_us_per_event(record_plain):.1f} µs "
          "(one run: the durable sessions table below).\n")
floor_1000 = load("throughput-floor-1000")
if floor_1000:
    ratio_floor = through_1000["events_per_second"] / floor_1000["events_per_second"]
    cpu_floor = cpu_us_per_event(through_1000) / max(cpu_us_per_event(floor_1000), 1e-9)
    print(f"ssebridge / floor: {ratio_floor:.2f}× (goal ≥ 0.8: {ok(ratio_floor >= 0.8)})\n")
    print(f"CPU per event / floor: {cpu_floor:.2f}× (goal ≤ 1.3: {ok(cpu_floor <= 1.3)})\n")
recorded_nchan = (f"; recorded against nchan's plain: "
                  f"{record_on['events_per_second'] / nchan_1000['events_per_second']:.2f}×"
                  if record_on else "")
print(f"ssebridge / nchan: {ratio_nchan:.2f}× plain against plain (goal ≥ 3: {ok(ratio_nchan >= 3)})"
      f"{recorded_nchan}\n")
print(f"(throughput with 1,000 sessions; p99 latency at 20,000 events/s: nchan's is "
      f"{ratio_p99:.1f}× ssebridge's)\n")

print("| measure | ssebridge | nginx + nchan | goal |")
print("| --- | --- | --- | --- |")
if record_on:
    print(f"| throughput, 1,000 sessions, recorded (what the worker libraries send; nchan's publisher "
          f"does not record) | {record_on['events_per_second']:,.0f} events/s | | report |")
print(f"| limit: one Redis subscriber connection, 1,000 channels | {limit_eps:,.0f} events/s | | — |")
for s in sizes:
    a, b = tp[s]
    goal = (f"≥ 0.8 × floor: {ok(a['events_per_second'] >= 0.8 * floor_1000['events_per_second'])}"
            if s == 1000 and floor_1000 else "")
    print(f"| throughput, {s:,} sessions | {a['events_per_second']:,.0f} events/s | "
          f"{b['events_per_second']:,.0f} events/s | {goal} |")
if floor_1000:
    print(f"| the floor (`bench/floor.cpp`: one thread, epoll, one write per client per Redis read), "
          f"1,000 sessions | {floor_1000['events_per_second']:,.0f} events/s, "
          f"{cpu_us_per_event(floor_1000):.1f} µs CPU per event | | — |")
if nchan_redis:
    print(f"| throughput, 1,000 sessions, nchan storing in Redis | | "
          f"{nchan_redis['events_per_second']:,.0f} events/s | |")
print(f"| server CPU per delivered event (1,000 sessions) | {cpu_us_per_event(through_1000):.1f} µs | "
      f"{cpu_us_per_event(nchan_1000):.1f} µs | report |")
pin_text = "pinned: the server on core 0, Redis and the bench on core 1" if pinned else "not pinned"
print(f"| latency at {lat_s['delivered'] / lat_s['seconds']:,.0f} events/s, 1,000 sessions (median of three runs; "
      f"{pin_text}) | "
      f"{lat_text(lat_s)} ({p99_range(lat_s_p99s)}) | {lat_text(lat_n)} ({p99_range(lat_n_p99s)}) | "
      f"p99 ≤ 1,000 µs: {ok(lat_s['latency_us']['p99'] <= 1000)} |")
if lat_f:
    floor_p99 = lat_f["latency_us"]["p99"]
    print(f"| the floor relay at the same load ({pin_text}) | {lat_text(lat_f)} ({p99_range(lat_f_p99s)}) | | "
          f"ssebridge's p99 ≤ the floor's + 300 µs ({floor_p99 + 300:,} µs): "
          f"{ok(lat_s['latency_us']['p99'] <= floor_p99 + 300)} |")
if limit_lat:
    print(f"| latency floor: the limit path at {limit_lat['delivered'] / limit_lat['seconds']:,.0f} events/s "
          f"(Redis → one subscriber connection, no SSE server) | {lat_text(limit_lat)} ({p99_range(limit_p99s)}) | | — |")
print(f"| the same with 10 % of the clients not reading (latency of the others) | {lat_text(slow_s)} "
      f"({p99_range(slow_s_p99s)}) | {lat_text(slow_n)} ({p99_range(slow_n_p99s)}) | report |")
print(f"| server RSS during that run: peak / at the end | {slow_s['gateway_rss_kib_peak'] / 1024:,.1f} MiB / "
      f"{slow_s['gateway_rss_kib_end'] / 1024:,.1f} MiB | {slow_n['gateway_rss_kib_peak'] / 1024:,.1f} MiB / "
      f"{slow_n['gateway_rss_kib_end'] / 1024:,.1f} MiB | report |")
print(f"| RSS per idle session, {idle_s['sessions']:,} sessions | {idle_kib(idle_s, 'idle-ssebridge'):.2f} KiB | "
      f"{idle_kib(idle_n, 'idle-nchan'):.2f} KiB | ≤ 0.5 KiB: {ok(idle_kib(idle_s, 'idle-ssebridge') <= 0.5)} |")
print(f"| setup, POST → worker_ack, {setup['concurrency']} clients | {setup['sessions_per_second']:,.0f} sessions/s "
      f"({lat_text(setup)}) | — | ≥ 5,000/s: {ok(setup['sessions_per_second'] >= 5000)} |")
print()

profile_seed, profile_ui = load("profile-seed"), load("profile-ai-sdk")
if profile_seed and profile_ui:
    ratio = profile_ui["events_per_second"] / max(profile_seed["events_per_second"], 1e-9)
    print("The AI SDK profile (DESIGN.md §8), the same run:\n")
    print("| measure | ssebridge | goal |")
    print("| --- | --- | --- |")
    print(f"| throughput, 1,000 sessions: `POST /v1/chat` (each event translated into a UI message "
          f"stream text-delta) / `POST /v1/react/sessions` (the seed's frames) | "
          f"{profile_ui['events_per_second']:,.0f} / {profile_seed['events_per_second']:,.0f} events/s "
          f"= {ratio:.2f}× | ≥ 0.7×: {ok(ratio >= 0.7)} |")
    print(f"| gateway CPU per event, the profile / the seed's | {cpu_us_per_event(profile_ui):.1f} µs / "
          f"{cpu_us_per_event(profile_seed):.1f} µs | report |")
    print()

resumes = [r for r in (load("resume-get"), load("resume-post")) if r]
cancel = load("cancel")
if record_plain and record_on and record_pair and len(resumes) == 2 and cancel:
    def redis_us(r):
        return 1e6 * r["redis_cpu_seconds"] / max(r["delivered"], 1)
    cost = redis_us(record_on) / max(redis_us(record_plain), 1e-9)
    cs = cancel["cancel"]
    print("Durable sessions (DESIGN.md §7):\n")
    print("| measure | ssebridge | goal |")
    print("| --- | --- | --- |")
    for r in resumes:
        rs = r["resume"]
        how = ("`GET …/events` with `Last-Event-ID` (an `EventSource`)" if rs["with"] == "get" else
               "the same POST again with its last cursor as `Last-Event-ID` (fetch-event-source)")
        print(f"| resume by {how}: 1,000 sessions, {rs['cut']:,} cut once at a random event | "
              f"{rs['lost']:,} events lost, {rs['duplicated']:,} duplicated | 0 and 0: "
              f"{ok(rs['lost'] == 0 and rs['duplicated'] == 0)} |")
        print(f"| the same: Kafka records per session | {rs['kafka_records'] / r['sessions']:.2f} "
              f"({rs['kafka_records']:,} for {r['sessions']:,}) | exactly 1: "
              f"{ok(rs['kafka_records'] == r['sessions'])} |")
        print(f"| the same: reconnect after 200 ms away → first replayed event | p50 {rs['resume_p50_us']:,} µs, "
              f"p99 {rs['resume_p99_us']:,} µs | report |")
    floor = redis_us(record_on) / max(redis_us(record_pair), 1e-9)
    print(f"| Redis CPU per recorded event (the workers' `MULTI`/`EXEC`) / `XADD` + `PUBLISH` pipelined, not "
          f"atomic (the contract's floor) | {redis_us(record_on):.1f} µs / {redis_us(record_pair):.1f} µs "
          f"= {floor:.2f}× | ≤ 1.5×: {ok(floor <= 1.5)} |")
    print(f"| Redis CPU per event: recorded / plain `PUBLISH` | {redis_us(record_on):.1f} µs / "
          f"{redis_us(record_plain):.1f} µs = {cost:.2f}× | report |")
    through = record_on['events_per_second'] / max(record_plain['events_per_second'], 1e-9)
    print(f"| throughput, 1,000 sessions, recorded / plain | {record_on['events_per_second']:,.0f} / "
          f"{record_plain['events_per_second']:,.0f} events/s = {through:.2f}× | ≥ 0.6×: "
          f"{ok(through >= 0.6)} |")
    gw = cpu_us_per_event(record_on) / max(cpu_us_per_event(record_plain), 1e-9)
    print(f"| gateway CPU per event, recorded / plain | {cpu_us_per_event(record_on):.1f} µs / "
          f"{cpu_us_per_event(record_plain):.1f} µs = {gw:.2f}× | ≤ 1.2×: {ok(gw <= 1.2)} |")
    print(f"| cancel → the worker stopped and `cancelled` reached the client, {cs['sessions']:,} "
          f"sessions | p50 {cs['stop_p50_us'] / 1000:.1f} ms, p99 {cs['stop_p99_us'] / 1000:.1f} ms "
          f"(confirmed: {cs['confirmed']:,}) | p99 ≤ 50 ms: {ok(cs['stop_p99_us'] <= 50000)} |")
    print(f"| events published after `cancelled` (all the sessions' logs) | "
          f"{cs['events_after_cancelled']:,} (in flight when the cancel was sent: "
          f"{cs['events_in_flight']:,}) | 0: {ok(cs['events_after_cancelled'] == 0)} |")
    print()

seed_tp, seed_idle, seed_lat, ours_lat = (load("throughput-seed-1000"), load("idle-seed"),
                                          load("latency-seed"), load("latency-ssebridge-2000"))
if seed_tp and seed_idle and seed_lat and ours_lat:
    ratio_seed = through_1000["events_per_second"] / seed_tp["events_per_second"]
    print("The seed side by side: `bench/peers/sse_driver.py`, the Python gateway ssebridge replaces "
          "(FastAPI + uvicorn + redis.asyncio + a Kafka producer, one process), driven by the same "
          "`ssebridge-bench --target ssebridge`:\n")
    recorded_seed = (f"; recorded against the seed's plain: "
                     f"{record_on['events_per_second'] / seed_tp['events_per_second']:.1f}×"
                     if record_on else "")
    print(f"ssebridge / seed: {ratio_seed:.1f}× plain against plain (goal ≥ 20: "
          f"{ok(ratio_seed >= 20)}){recorded_seed}\n")
    print("| measure | ssebridge | seed (Python) |")
    print("| --- | --- | --- |")
    print(f"| throughput, 1,000 sessions | {through_1000['events_per_second']:,.0f} events/s | "
          f"{seed_tp['events_per_second']:,.0f} events/s |")
    print(f"| server CPU per delivered event | {cpu_us_per_event(through_1000):.1f} µs | "
          f"{cpu_us_per_event(seed_tp):.1f} µs |")
    print(f"| latency at 2,000 events/s, 1,000 sessions | {lat_text(ours_lat)} | {lat_text(seed_lat)} |")
    print(f"| RSS per idle session | {idle_kib(idle_s, 'idle-ssebridge'):.2f} KiB ({idle_s['sessions']:,} "
          f"sessions) | {idle_kib(seed_idle, 'idle-seed'):.2f} KiB ({seed_idle['sessions']:,} sessions) |")
    print()

metrics = out / "slow-ssebridge.metrics"
if metrics.exists():
    counters = {l.split()[0]: l.split()[1] for l in metrics.read_text().splitlines()
                if l and not l.startswith("#")}
    ended = 'ssebridge_streams_ended_total{code="%s"}'
    print(f"In the slow-client run ssebridge cut off {counters.get(ended % 'slow_client', '?')} "
          f"clients for a full queue and {counters.get(ended % 'write_timeout', '?')} for a "
          "write that waited too long (`/metrics`).\n")

micro = out / "micro.json"
if micro.exists():
    print("Microbenchmarks (`build/release/bench/ssebridge-microbench`, Google Benchmark):\n")
    print("| benchmark | CPU time |")
    print("| --- | --- |")
    for b in json.loads(micro.read_text())["benchmarks"]:
        print(f"| `{b['name']}` | {b['cpu_time']:,.0f} {b['time_unit']} |")
    print()

dso = out / "profile-dso.txt"
sym = out / "profile-sym.txt"
if dso.exists() and sym.exists():
    def rows(path, n):
        got = []
        for line in path.read_text().splitlines():
            parts = line.split()
            if parts and parts[0].endswith("%"):
                got.append((parts[0], " ".join(parts[1:])[:110]))
            if len(got) == n:
                break
        return got
    print("Where the gateway's CPU goes during the 1,000-session throughput run "
          "(`perf record -e cpu-clock -g`, self time):\n")
    print("| share | where |")
    print("| --- | --- |")
    for share, where in rows(dso, 4) + rows(sym, 12):
        print(f"| {share} | `{where.replace('|', '/')}` |")
    print()

svg_plot(plots / "latency-cdf.svg", "Publish → client latency at 20,000 events/s, 1,000 sessions",
         "latency (µs, log scale)", "percentile",
         [("ssebridge", "#1f77b4", cdf(lat_s)), ("nginx + nchan", "#d62728", cdf(lat_n)),
          ("ssebridge, 10 % slow", "#2ca02c", cdf(slow_s))]
         + ([("limit path (floor)", "#7f7f7f", cdf(limit_lat))] if limit_lat else []), logx=True, nines=True)
svg_plot(plots / "throughput.svg", "Delivered events/s against sessions", "sessions (log scale)",
         "events/s",
         [("ssebridge", "#1f77b4", [(s, tp[s][0]["events_per_second"]) for s in sizes]),
          ("nginx + nchan", "#d62728", [(s, tp[s][1]["events_per_second"]) for s in sizes]),
          ("limit (Redis)", "#7f7f7f", [(sizes[0], limit_eps), (sizes[-1], limit_eps)])], logx=True)
print("![latency CDF](bench/latency-cdf.svg)\n")
print("![throughput against sessions](bench/throughput.svg)\n")
