#!/usr/bin/python3
"""A Python worker written as the seed describes publish_event (redis-py,
PUBLISH sse_session:{id} with json.dumps) drives ssebridge-gateway end to end.

Usage: test_seed_worker.py PATH/TO/ssebridge-gateway
Starts its own redis-server and gateway on free ports; exits non-zero on failure.
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis


def publish_event(redis_client, session_id, event_type, payload):
    """The seed's publisher: one JSON message on the session's channel."""
    channel = f"sse_session:{session_id}"
    message = json.dumps({"event_type": event_type, "payload": payload})
    redis_client.publish(channel, message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def read_events(response):
    """The seed client's parsing: split on blank lines, keep 'data: ' parts."""
    buffer, events = "", []
    while True:
        chunk = response.read1(65536)
        if not chunk:
            return events
        buffer += chunk.decode("utf-8")
        parts = buffer.split("\n\n")
        buffer = parts.pop()
        for part in parts:
            if part.startswith("data: "):
                events.append(json.loads(part[6:]))


def main():
    gateway_binary = sys.argv[1]
    workdir = tempfile.mkdtemp(prefix="ssebridge-py-")
    redis_port = free_port()
    redis_proc = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL)
    gateway = None
    try:
        wait_port(redis_port)
        gateway = subprocess.Popen(
            [gateway_binary, "--listen", "127.0.0.1:0", "--redis", f"redis://127.0.0.1:{redis_port}",
             "--log-level", "warn"],
            stdout=subprocess.PIPE, text=True)
        port = None
        for line in gateway.stdout:
            if line.startswith("listening on "):
                port = int(line.rsplit(":", 1)[1])
                break
        assert port, "the gateway did not print 'listening on'"

        worker = redis.Redis(host="127.0.0.1", port=redis_port)
        for _ in range(100):  # the gateway's subscriber connects asynchronously
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                break
            time.sleep(0.05)

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        body = {"user_query": "What is the capital of France?", "model_alias": "smart_agent"}
        conn.request("POST", "/v1/react/sessions", body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200, response.status
        session_id = response.getheader("X-Session-Id")
        assert session_id and len(session_id) == 32

        publish_event(worker, session_id, "worker_ack", {})
        for c in "Thinking":
            publish_event(worker, session_id, "AgentThoughtStream", {"char": c})
        publish_event(worker, session_id, "AgentToolCallStart", {"tool_name": "weather"})
        for c in "Paris, 18°C":
            publish_event(worker, session_id, "FinalAnswerStream", {"char": c})
        publish_event(worker, session_id, "FinalAnswerStreamEnd", {})

        events = read_events(response)
        types = [e["event_type"] for e in events]
        assert types[0] == "worker_ack", types
        assert types[-1] == "FinalAnswerStreamEnd", types
        thought = "".join(e["payload"]["char"] for e in events if e["event_type"] == "AgentThoughtStream")
        answer = "".join(e["payload"]["char"] for e in events if e["event_type"] == "FinalAnswerStream")
        tool = [e["payload"]["tool_name"] for e in events if e["event_type"] == "AgentToolCallStart"]
        assert thought == "Thinking", thought
        assert answer == "Paris, 18°C", answer
        assert tool == ["weather"], tool
        deadline = time.time() + 5  # the gateway unsubscribes right after the final frame
        while worker.pubsub_numsub(f"sse_session:{session_id}")[0][1] != 0:
            assert time.time() < deadline, "the session's subscription outlived it"
            time.sleep(0.01)
        print("1 passed, 0 failed")
    finally:
        if gateway:
            gateway.terminate()
            gateway.wait(timeout=15)
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
