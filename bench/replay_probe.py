"""Stalled replays probed as an attacker would (issue 21), against a running gateway.

  stall: a log of EVENTS events of SIZE bytes; N readers send their
         GET …/events and never read (the storm of replays is a scenario of
         ssebridge-bench). Prints JSON: the gateway's RSS before,
         at its peak while they stall, and after the gateway cut them.

Run with /usr/bin/python3 (Debian's python3-redis). Used by bench/replay.sh.
"""

import argparse
import json
import socket
import time

import redis


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_session(gateway, r, events, size):
    """A session whose log holds worker_ack, `events` events and the end."""
    host, port = gateway.split(":")
    post = socket.create_connection((host, int(port)))
    body = b'{"user_query":"replay probe"}'
    post.sendall(b"POST /v1/react/sessions HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    head = b""
    while b"\r\n\r\n" not in head:
        head += post.recv(4096)
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
    sid, token = headers["X-Session-Id"], headers["X-Session-Token"]
    channel, log = f"sse_session:{sid}", f"sse_log:{{sse_session:{sid}}}"
    r.publish(channel, '{"event_type":"worker_ack","payload":{}}')
    pipe = r.pipeline(transaction=False)
    pipe.xadd(log, {"m": '{"event_type":"worker_ack","payload":{}}'})
    event = json.dumps({"event_type": "ToolResult", "payload": {"text": "x" * size}})
    for i in range(events):
        pipe.xadd(log, {"m": event})
        if i % 500 == 499:
            pipe.execute()
    end = '{"event_type":"FinalAnswerStreamEnd","payload":{}}'
    pipe.xadd(log, {"m": end})
    pipe.execute()
    r.publish(channel, end)  # the creator's stream ends
    post.close()
    return sid, token


def get_request(sid, token):
    return (f"GET /v1/react/sessions/{sid}/events?token={token} HTTP/1.1\r\nHost: b\r\n"
            "Connection: close\r\n\r\n").encode()


def stall(args, r):
    sid, token = open_session(args.gateway, r, args.events, args.size)
    host, port = args.gateway.split(":")
    time.sleep(0.5)
    before = rss_kib(args.gateway_pid)
    readers = []
    for _ in range(args.readers):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, int(port)))
        s.sendall(get_request(sid, token))
        readers.append(s)
    peak, start = before, time.monotonic()
    while time.monotonic() - start < args.seconds:
        peak = max(peak, rss_kib(args.gateway_pid))
        time.sleep(0.05)
    for s in readers:
        s.close()
    time.sleep(1)
    after = rss_kib(args.gateway_pid)
    return {"readers": args.readers, "event_bytes": args.size, "events": args.events,
            "rss_kib_before": before, "rss_kib_peak": peak, "rss_kib_after": after,
            "kib_per_reader": (peak - before) / max(args.readers, 1)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["stall"])
    p.add_argument("--gateway", required=True)
    p.add_argument("--redis-port", type=int, required=True)
    p.add_argument("--gateway-pid", type=int, default=0)
    p.add_argument("--readers", type=int, default=20)
    p.add_argument("--events", type=int, default=200)
    p.add_argument("--size", type=int, default=50 * 1024)
    p.add_argument("--seconds", type=float, default=3)
    args = p.parse_args()
    r = redis.Redis(port=args.redis_port)
    print(json.dumps(stall(args, r)))


if __name__ == "__main__":
    main()
