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
On a Redis Cluster pass a redis.cluster.RedisCluster: the event is then
published with SPUBLISH (sharded Pub/Sub), as the gateways' --redis-cluster
subscribes.

Cancellation (a user's Stop, or nobody watching any more): once the gateway
has set the session's tombstone, publish_event publishes nothing and raises
SessionCancelled. run_request wraps a handler: it never starts one for a
session cancelled before pickup, and records the terminal `cancelled` event
that confirms the cancel to the gateway:

    def handle(session_id, request):
        publish_event(r, session_id, "worker_ack")
        for token in model.stream(request["user_query"]):   # stops at the next
            publish_event(r, session_id, "FinalAnswerStream", {"char": token})
        publish_event(r, session_id, "FinalAnswerStreamEnd")

    run_request(r, session_id, lambda: handle(session_id, request))
"""
import json
import weakref

from redis.exceptions import ResponseError

# The same text as wire::record_script() in lib/wire/src/record.cpp (a test
# checks that both hash to the same SHA-1).
RECORD_SCRIPT = """if ARGV[4] ~= '1' and redis.call('EXISTS', KEYS[3]) == 1 then
  return redis.error_reply('CANCELLED the session was cancelled')
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local publish = ARGV[5] == 's' and 'SPUBLISH' or 'PUBLISH'
local n = redis.call(publish, KEYS[2], '{"id":"' .. id .. '",' .. string.sub(ARGV[1], 2))
return {id, n}
"""

DEFAULT_MAX_LEN = 10000  # entries kept in a session's log, about
DEFAULT_TTL = 3600  # seconds a log lives after its last event


class SessionCancelled(Exception):
    """The session was cancelled: nothing was published; stop working on it."""


def session_channel(session_id):
    return f"sse_session:{session_id}"


def log_key(session_id):
    return f"sse_log:{{sse_session:{session_id}}}"


def cancel_key(session_id):
    return f"sse_cancel:{{sse_session:{session_id}}}"


def event_message(event_type, payload=None):
    """The seed's message, compact on one line: {"event_type":…,"payload":…}."""
    return json.dumps(
        {"event_type": event_type, "payload": {} if payload is None else payload},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _sharded(redis_client):
    """True for a redis.cluster.RedisCluster: Pub/Sub is sharded there (SPUBLISH)."""
    try:
        from redis.cluster import RedisCluster
    except ImportError:  # a redis-py without cluster support
        return False
    return isinstance(redis_client, RedisCluster)


_loaded_on = weakref.WeakSet()  # cluster clients whose masters have the script


def _record(redis_client, session_id, message, max_len, ttl, even_if_cancelled):
    sharded = _sharded(redis_client)
    if sharded and redis_client not in _loaded_on:
        # On every master at once: redis-py's cluster client logs a traceback
        # for each EVALSHA a master has no script for (it then sends EVAL).
        redis_client.script_load(RECORD_SCRIPT)
        _loaded_on.add(redis_client)
    script = redis_client.register_script(RECORD_SCRIPT)  # EVALSHA, EVAL when not cached
    try:
        event_id, receivers = script(
            keys=[log_key(session_id), session_channel(session_id), cancel_key(session_id)],
            args=[message, int(max_len), int(ttl), "1" if even_if_cancelled else "0",
                  "s" if sharded else ""],
        )
    except ResponseError as e:
        if str(e).startswith("CANCELLED"):
            raise SessionCancelled(session_id) from None
        raise
    if isinstance(event_id, bytes):
        event_id = event_id.decode()
    return event_id, int(receivers)


def publish_event(redis_client, session_id, event_type, payload=None,
                  max_len=DEFAULT_MAX_LEN, ttl=DEFAULT_TTL):
    """Records and publishes one event; returns (event id, receivers).

    receivers is how many gateways got it live; 0 means nobody holds the
    session right now (a client may still come back and resume). Raises
    SessionCancelled once the session is cancelled."""
    return _record(redis_client, session_id, event_message(event_type, payload),
                   max_len, ttl, False)


def is_cancelled(redis_client, session_id):
    """True once the session's tombstone is set."""
    return redis_client.exists(cancel_key(session_id)) == 1


def record_cancelled(redis_client, session_id, max_len=DEFAULT_MAX_LEN, ttl=DEFAULT_TTL):
    """Records the terminal `cancelled` event: the confirmation a cancel waits for."""
    return _record(redis_client, session_id, event_message("cancelled"), max_len, ttl, True)


def run_request(redis_client, session_id, handler):
    """Runs handler() for a session unless it is cancelled; True when it ran to
    its end. A cancel before pickup or during the handler (seen at its next
    publish_event) records `cancelled` instead."""
    if is_cancelled(redis_client, session_id):
        record_cancelled(redis_client, session_id)
        return False
    try:
        handler()
    except SessionCancelled:
        record_cancelled(redis_client, session_id)
        return False
    return True
