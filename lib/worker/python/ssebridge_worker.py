"""ssebridge's worker library for Python workers (DESIGN.md §7).

    import redis
    from ssebridge_worker import publish_event

    r = redis.Redis.from_url("redis://127.0.0.1:6379")
    event_id, receivers = publish_event(r, session_id, "worker_ack")
    publish_event(r, session_id, "FinalAnswerStream", {"char": "P"})
    publish_event(r, session_id, "FinalAnswerStreamEnd")

Each event is recorded in the session's log and published with its id in one
atomic script call, exactly as the C++ `worker::publish_event` does, so a
client can resume from any event. Needs redis-py (Debian: python3-redis).
"""
import json

# The same text as wire::record_script() in lib/wire/src/record.cpp (a test
# checks that both hash to the same SHA-1).
RECORD_SCRIPT = """local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local n = redis.call('PUBLISH', KEYS[2], '{"id":"' .. id .. '",' .. string.sub(ARGV[1], 2))
return {id, n}
"""

DEFAULT_MAX_LEN = 10000  # entries kept in a session's log, about
DEFAULT_TTL = 3600  # seconds a log lives after its last event


def session_channel(session_id):
    return f"sse_session:{session_id}"


def log_key(session_id):
    return f"sse_log:{{sse_session:{session_id}}}"


def event_message(event_type, payload=None):
    """The seed's message, compact on one line: {"event_type":…,"payload":…}."""
    return json.dumps(
        {"event_type": event_type, "payload": {} if payload is None else payload},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def publish_event(redis_client, session_id, event_type, payload=None,
                  max_len=DEFAULT_MAX_LEN, ttl=DEFAULT_TTL):
    """Records and publishes one event; returns (event id, receivers).

    receivers is how many gateways got it live; 0 means nobody holds the
    session right now (a client may still come back and resume)."""
    script = redis_client.register_script(RECORD_SCRIPT)  # EVALSHA, EVAL when not cached
    event_id, receivers = script(
        keys=[log_key(session_id), session_channel(session_id)],
        args=[event_message(event_type, payload), int(max_len), int(ttl)],
    )
    if isinstance(event_id, bytes):
        event_id = event_id.decode()
    return event_id, int(receivers)
