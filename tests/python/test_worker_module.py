#!/usr/bin/python3
"""The Python worker module (lib/worker/python/ssebridge_worker.py) records
and publishes exactly as the C++ worker library does.

Usage: test_worker_module.py PATH/TO/ssebridge-publish
Starts its own redis-server on a free port; exits non-zero on failure.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib", "worker", "python"))
import ssebridge_worker  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    publish_binary = sys.argv[1]
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="ssebridge-pymod-")
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL)
    try:
        r = redis.Redis(port=port)
        deadline = time.time() + 10
        while True:
            try:
                r.ping()
                break
            except redis.ConnectionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

        session = "0123456789abcdef0123456789abcdef"
        pubsub = r.pubsub()
        pubsub.subscribe(ssebridge_worker.session_channel(session))
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"

        sent = [ssebridge_worker.publish_event(r, session, "worker_ack"),
                ssebridge_worker.publish_event(r, session, "FinalAnswerStream", {"char": "é"}),
                ssebridge_worker.publish_event(r, session, "FinalAnswerStreamEnd", ttl=60)]
        assert all(receivers == 1 for _, receivers in sent), sent

        live = []
        while len(live) < 3:
            m = pubsub.get_message(timeout=5)
            assert m is not None, "a live message is missing"
            if m["type"] == "message":
                live.append(m["data"].decode())
        log = r.xrange(f"sse_log:{{sse_session:{session}}}")
        assert [entry_id.decode() for entry_id, _ in log] == [i for i, _ in sent], log
        for (entry_id, fields), message, (event_id, _) in zip(log, live, sent):
            recorded = fields[b"m"].decode()
            # The live message is the recorded one with "id" first.
            assert message == '{"id":"%s",%s' % (event_id, recorded[1:]), (message, recorded)
            parsed = json.loads(message)
            assert list(parsed)[0] == "id", parsed
        assert json.loads(live[1])["payload"]["char"] == "é"
        assert 0 < r.ttl(f"sse_log:{{sse_session:{session}}}") <= 60

        # The C++ library records the same way: the same commands, but for
        # the ids (and the session), as Redis's MONITOR sees them.
        def commands_of(record):
            monitor = r.connection_pool.make_connection()
            monitor.connect()
            monitor.send_command("MONITOR")
            assert monitor.read_response() == b"OK"
            record()
            seen = []
            while not seen or seen[-1][0] != "EXEC":
                assert monitor.can_read(timeout=5), seen
                line = monitor.read_response().decode()
                words = json.loads("[" + line[line.index('"'):].replace('" "', '","') + "]")
                if words[0] in ("MULTI", "XADD", "PUBLISH", "EXPIRE", "EXEC"):
                    seen.append([re.sub(r"[0-9a-f]{32}", "<session>", re.sub(r"\d+-\d+", "<id>", w))
                                 for w in words])
            monitor.disconnect()
            return seen
        python_sent = commands_of(lambda: ssebridge_worker.publish_event(r, "4" * 32, "x", {"a": 1}))
        cxx_sent = commands_of(lambda: subprocess.run(
            [publish_binary, "--redis", f"redis://127.0.0.1:{port}", "5" * 32, "x", '{"a":1}'],
            check=True, stdout=subprocess.DEVNULL))
        assert [w[0] for w in python_sent] == ["MULTI", "XADD", "PUBLISH", "EXPIRE", "EXEC"], python_sent
        assert python_sent == cxx_sent, (python_sent, cxx_sent)

        # Cancellation: a handler never runs for a session cancelled before
        # pickup; a running one stops at its next event after the cancel.
        def types(sid):
            return [json.loads(f[b"m"])["event_type"] for _, f in r.xrange(ssebridge_worker.log_key(sid))]

        def cancel(sid):  # as the gateway's cancel does: the tombstone, then the word
            r.set(ssebridge_worker.cancel_key(sid), "1")
            return r.publish(ssebridge_worker.control_channel(sid), "cancel")

        early = "1" * 32
        cancel(early)
        ran = []
        assert ssebridge_worker.run_request(r, early, lambda events: ran.append(1)) is False
        assert ran == [], "a handler ran for a session cancelled before pickup"
        assert types(early) == ["cancelled"], types(early)

        running = "2" * 32

        def handler(events):
            events.publish("worker_ack")
            for i in range(100):
                if i == 3:
                    assert cancel(running) == 1  # the user's Stop; run_request listens
                    time.sleep(0.2)  # (the word is on its way to the worker)
                events.publish("T", {"i": i})
                ran.append(i)
        assert ssebridge_worker.run_request(r, running, handler) is False
        assert ran == [0, 1, 2], ran  # stopped at the first publish after the cancel
        assert types(running) == ["worker_ack", "T", "T", "T", "cancelled"], types(running)
        try:
            ssebridge_worker.publish_event(r, running, "T")
            raise AssertionError("published after the cancel")
        except ssebridge_worker.SessionEnded:
            pass
        assert types(running)[-1] == "cancelled"
        assert ssebridge_worker.run_request(r, "3" * 32, lambda events: None) is True

        # The control connection lost (Redis dropped it, as a restart does)
        # while a cancel came with nobody listening: the listener subscribes
        # again at the next event, reads the tombstone, and stops.
        unheard = "7" * 32
        ran.clear()

        def deaf_handler(events):
            events.publish("worker_ack")
            for i in range(100):
                if i == 3:
                    r.set(ssebridge_worker.cancel_key(unheard), "1")  # the word is lost
                    r.client_kill_filter(_type="pubsub")
                    time.sleep(0.2)
                events.publish("T", {"i": i})
                ran.append(i)
        assert ssebridge_worker.run_request(r, unheard, deaf_handler) is False
        assert len(ran) <= 5, ran  # stopped within two events of the loss
        assert types(unheard)[-1] == "cancelled", types(unheard)
        two_writers(r, port)
        on_a_cluster()
        print("ok")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


WRITER = """
import sys, ssebridge_worker, redis
r = redis.Redis(port=int(sys.argv[1]))
events = ssebridge_worker.SessionWriter(r, sys.argv[2])
for i in range(int(sys.argv[3])):
    events.publish("T", {"w": sys.argv[4], "i": i})
"""


def two_writers(r, port):
    """Two processes write one session at once (a Kafka redelivery while the
    first worker still runs): their clocks are their own, so their ids meet.
    Each event is recorded once, in each writer's order; a reader that keeps
    the gateway's rule (an id not after the last one is dropped) hears
    exactly the log; after the end neither records."""
    session = "6" * 32
    listener = r.pubsub()
    listener.subscribe(ssebridge_worker.session_channel(session))
    assert listener.get_message(timeout=5)["type"] == "subscribe"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(ssebridge_worker.__file__))
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(port), session, "300", w],
                                env=env) for w in ("a", "b")]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    ssebridge_worker.publish_event(r, session, "FinalAnswerStreamEnd")
    try:
        ssebridge_worker.publish_event(r, session, "T", {"w": "late"})
        raise AssertionError("recorded after the end")
    except ssebridge_worker.SessionEnded:
        pass
    log = r.xrange(ssebridge_worker.log_key(session))
    logged = [(i.decode(), json.loads(f[b"m"])) for i, f in log]
    assert logged[-1][0] == ssebridge_worker.SEALING_ID, logged[-1]
    for w in ("a", "b"):
        mine = [m["payload"]["i"] for _, m in logged if m["payload"].get("w") == w]
        assert mine == list(range(300)), (w, mine)
    heard, last = [], None
    while True:
        m = listener.get_message(timeout=2)
        if m is None:
            break
        if m["type"] != "message":
            continue
        event = json.loads(m["data"])
        event_id = tuple(map(int, event["id"].split("-")))
        if last is not None and event_id <= last:
            continue  # a refused event's message: its id was had already
        last = event_id
        heard.append(event["id"])
        if event["event_type"] == "FinalAnswerStreamEnd":
            break
    assert heard == [i for i, _ in logged], (len(heard), len(logged))


def on_a_cluster():
    """With a redis.cluster.RedisCluster, events go out with SPUBLISH on the
    master of the session's slot (where a gateway's --redis-cluster listens)
    and are recorded there."""
    from redis.cluster import RedisCluster
    workdir = tempfile.mkdtemp(prefix="ssebridge-pymod-cluster-")
    ports = [free_port() for _ in range(3)]
    nodes = []
    try:
        for port in ports:
            os.makedirs(f"{workdir}/{port}")
            nodes.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled",
                 "yes", "--cluster-port", str(free_port()), "--cluster-config-file",
                 f"{workdir}/{port}/nodes.conf", "--save", "", "--appendonly", "no",
                 "--dir", f"{workdir}/{port}"], stdout=subprocess.DEVNULL))
        for port in ports:
            wait_for(lambda: redis.Redis(port=port).ping())
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                        "--cluster-yes"], check=True, stdout=subprocess.DEVNULL)
        for port in ports:
            wait_for(lambda: redis.Redis(port=port).cluster("info")["cluster_state"] == "ok")
        rc = RedisCluster(host="127.0.0.1", port=ports[0])

        session = "fedcba9876543210fedcba9876543210"
        channel = ssebridge_worker.session_channel(session)
        slot = rc.keyslot(channel)
        owner = rc.get_node_from_key(channel)
        listener = redis.Redis(host=owner.host, port=owner.port).connection_pool.get_connection("_")
        listener.send_command("SSUBSCRIBE", channel)
        assert listener.read_response()[0] == b"ssubscribe"
        event_id, receivers = ssebridge_worker.publish_event(rc, session, "worker_ack")
        assert receivers == 1, receivers
        kind, got_channel, message = listener.read_response()
        assert (kind, got_channel.decode()) == (b"smessage", channel), (kind, got_channel)
        assert json.loads(message)["id"] == event_id
        assert rc.keyslot(ssebridge_worker.log_key(session)) == slot
        assert [i.decode() for i, _ in rc.xrange(ssebridge_worker.log_key(session))] == [event_id]
    finally:
        for node in nodes:
            node.terminate()
            node.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def wait_for(check, timeout=10):
    deadline = time.time() + timeout
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        if time.time() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
