"""ssebridge's worker library for Python workers (DESIGN.md §7).

    import redis
    from ssebridge_worker import SessionWriter, run_request

    r = redis.Redis.from_url("redis://127.0.0.1:6379")

    def handle(events):                       # events: the session's SessionWriter
        events.publish("worker_ack")
        for token in model.stream(request["user_query"]):   # stops at the next
            events.publish("FinalAnswerStream", {"char": token})  # event after a cancel
        events.publish("FinalAnswerStreamEnd")

    run_request(r, session_id, handle)

A SessionWriter is the single writer of a session's events, recording them
exactly as the C++ `worker::session_writer` does: one MULTI/EXEC per event,
`XADD <log> MAXLEN ~ <n> <id> m <message>` with an id the writer chose, then
`PUBLISH <channel>` of the message with that id first, and, once in a
while, `EXPIRE <log>`. A client can resume from any event. A terminal event
(FinalAnswerStreamEnd, cancelled, error) takes the last id a stream can
hold, so nothing can be recorded after it, by any writer: publishing then
raises SessionEnded (the gateway ended the session: stop). Needs redis-py
(Debian: python3-redis). On a Redis Cluster pass a redis.cluster.RedisCluster:
the event goes to the master of the session's slot, published with SPUBLISH
(sharded Pub/Sub), as the gateways' --redis-cluster subscribes.

Cancellation (a user's Stop, or nobody watching any more): run_request never
starts a handler for a session cancelled before pickup; while it runs, it
listens on the session's control channel (one connection per running
session, subscribed again when Redis comes back from a restart or a
failover), and the writer's next publish after a cancel raises
SessionCancelled without sending anything; run_request then records the
terminal `cancelled` event that confirms the cancel to the gateway.

publish_event(r, session_id, event_type, payload) records one event with a
writer of its own (it refreshes the log's expiry every time): for a worker
that does not hold the session's writer.
"""
import json
import threading
import time

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError, TimeoutError as RedisTimeoutError

DEFAULT_MAX_LEN = 10000  # entries kept in a session's log, about
DEFAULT_TTL = 3600  # seconds a log lives after its last event, at least
DEFAULT_RECONNECT_WAIT = 10.0  # seconds a publish waits for Redis to come back

SEALING_ID = "18446744073709551615-18446744073709551615"  # a terminal event's
TERMINAL_TYPES = ("FinalAnswerStreamEnd", "cancelled", "error")


class SessionEnded(Exception):
    """The session's log holds its terminal event: nothing more is recorded; stop."""


class SessionCancelled(SessionEnded):
    """The session was cancelled: nothing was published; stop working on it."""


def session_channel(session_id):
    return f"sse_session:{session_id}"


def log_key(session_id):
    return f"sse_log:{{sse_session:{session_id}}}"


def cancel_key(session_id):
    return f"sse_cancel:{{sse_session:{session_id}}}"


def control_channel(session_id):
    return f"sse_control:{{sse_session:{session_id}}}"


def event_message(event_type, payload=None):
    """The seed's message, compact on one line: {"event_type":…,"payload":…}."""
    return json.dumps(
        {"event_type": event_type, "payload": {} if payload is None else payload},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def recorded_message(event_id, message):
    """The message with "id" as its first member, as subscribers get it."""
    return '{"id":"%s",%s' % (event_id, message[1:])


def _parse_id(text):
    ms, seq = text.split("-")
    return int(ms), int(seq)


_clock_lock = threading.Lock()
_last_id = (0, 0)


def next_event_id(after=(0, 0)):
    """The id of the next event this process records: after every id it gave
    before and after `after` (ms, seq), from the system clock (as C++'s
    worker::next_event_id)."""
    global _last_id
    now = int(time.time() * 1000)
    with _clock_lock:
        last = max(_last_id, after)
        _last_id = (now, 0) if now > last[0] else (last[0], last[1] + 1)
        return _last_id


def _cluster_of(redis_client):
    """The redis.cluster.RedisCluster, or None for a single Redis."""
    try:
        from redis.cluster import RedisCluster
    except ImportError:  # a redis-py without cluster support
        return None
    return redis_client if isinstance(redis_client, RedisCluster) else None


def _node_client(redis_client, key):
    """The client that runs a transaction on `key`: on a cluster, its master's."""
    cluster = _cluster_of(redis_client)
    if cluster is None:
        return redis_client
    return cluster.get_redis_connection(cluster.get_node_from_key(key))


_MAX_OVERTAKEN = 64  # refusals in a row: another writer can win each round, not for ever


def _overtaking(newest, round_):
    """What the id after `round_` refusals in a row must pass, the log's
    newest being `newest`: newest + 2**round_ (as C++'s overtaking). A writer
    that lost a round to another as fast leaves room for the other's writes
    made while it asked, so it wins within a few rounds instead of trailing
    one behind for ever."""
    ms, seq = newest
    skip = 1 << min(round_, 32)
    if seq > 2**64 - 1 - skip:
        return ms + 1, 0
    return ms, seq + skip - 1  # next_event_id adds the last one


def _refused_unrun(error):
    text = str(error)
    return text.startswith(("MOVED", "ASK", "CLUSTERDOWN", "TRYAGAIN"))


class SessionWriter:
    """The single writer of one session's events (see the module's doc)."""

    def __init__(self, redis_client, session_id, max_len=DEFAULT_MAX_LEN, ttl=DEFAULT_TTL,
                 reconnect_wait=DEFAULT_RECONNECT_WAIT):
        self.redis = redis_client
        self.session_id = session_id
        self.max_len = int(max_len)
        self.ttl = int(ttl)
        self.reconnect_wait = reconnect_wait
        self.sharded = _cluster_of(redis_client) is not None
        self._refresh = max(1, self.ttl // 8)
        self._expire_due = 0.0
        self._cancelled = False
        self._ended = False
        self.control = None  # a _ControlListener, when run_request listens

    def cancel(self):
        """From now on only record_cancelled records."""
        self._cancelled = True

    def publish(self, event_type, payload=None):
        """Records one event; returns (event id, receivers). receivers is how
        many gateways got it live (0: nobody holds the session right now)."""
        if self.control is not None and self.control.heard():
            self._cancelled = True
        if self._cancelled:
            raise SessionCancelled(self.session_id)
        return self._write(event_message(event_type, payload), event_type in TERMINAL_TYPES)

    def record_cancelled(self):
        """Records the terminal `cancelled` event: the confirmation a cancel waits for."""
        return self._write(event_message("cancelled"), True)

    def _commands(self, pipe, message, event_id):
        log = log_key(self.session_id)
        pipe.xadd(log, {"m": message}, id=event_id, maxlen=self.max_len, approximate=True)
        pipe.execute_command("SPUBLISH" if self.sharded else "PUBLISH",
                             session_channel(self.session_id), recorded_message(event_id, message))
        now = time.monotonic()
        terminal = event_id == SEALING_ID
        if terminal or now >= self._expire_due:
            pipe.expire(log, self.ttl if terminal else self.ttl + self._refresh)
            self._expire_due = now + self._refresh

    def _write(self, message, terminal):
        if self._ended:
            raise SessionEnded(self.session_id)
        give_up = time.monotonic() + self.reconnect_wait
        pause = 0.05
        event_id = SEALING_ID if terminal else "%d-%d" % next_event_id()
        sent_before = False  # lost with its connection: it may have run
        overtaken = 0
        while True:
            client = _node_client(self.redis, log_key(self.session_id))
            pipe = client.pipeline(transaction=True)
            self._commands(pipe, message, event_id)
            try:
                results = pipe.execute(raise_on_error=False)
            except (RedisConnectionError, RedisTimeoutError):
                results = None
                sent_before = True
            except ResponseError as e:  # refused as queued: nothing ran
                if not _refused_unrun(e):
                    self._expire_due = 0.0
                    raise
                results = None
                cluster = _cluster_of(self.redis)
                if cluster is not None:
                    cluster.nodes_manager.initialize()  # a failover, or a slot moved
            if results is None:  # Redis is coming back: the same id again
                if time.monotonic() + pause > give_up:
                    self._expire_due = 0.0
                    raise RedisConnectionError("Redis unreachable: the event was not recorded")
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            added, receivers = results[0], int(results[1])
            if not isinstance(added, Exception):
                self._ended = terminal
                return (added.decode() if isinstance(added, bytes) else added), receivers
            # Refused: the id is not after the log's newest. That is this very
            # event (sent before its connection was lost), the log's end, or
            # another writer that went ahead.
            log = log_key(self.session_id)
            if sent_before:
                entries = client.xrange(log, event_id, event_id)
                if entries and entries[0][1].get(b"m", b"").decode() == message:
                    self._ended = terminal
                    return event_id, receivers
            newest = client.xinfo_stream(log)["last-generated-id"]
            newest = newest.decode() if isinstance(newest, bytes) else newest
            if newest == SEALING_ID:
                self._ended = True
                raise SessionEnded(self.session_id)
            overtaken += 1
            if overtaken > _MAX_OVERTAKEN:
                raise added
            event_id = "%d-%d" % next_event_id(_overtaking(_parse_id(newest), overtaken))
            sent_before = False


def publish_event(redis_client, session_id, event_type, payload=None,
                  max_len=DEFAULT_MAX_LEN, ttl=DEFAULT_TTL):
    """Records and publishes one event with a writer of its own; returns
    (event id, receivers). Raises SessionEnded after the session's end."""
    return SessionWriter(redis_client, session_id, max_len, ttl).publish(event_type, payload)


def is_cancelled(redis_client, session_id):
    """True once the session's tombstone is set."""
    return redis_client.exists(cancel_key(session_id)) == 1


class _ControlListener:
    """The session's control channel on a connection of its own: any message
    there is a cancel. Read without blocking, before each event. A
    connection lost (Redis restarted, failed over) is made again at the next
    read, and the tombstone read then, for a cancel published meanwhile."""

    def __init__(self, redis_client, session_id):
        self._redis = redis_client
        self._session_id = session_id
        self._conn = None
        self._heard = False
        try:
            self._listen()
        except redis.RedisError:
            self._lost()  # (Redis failing over: listened to again at the next read)

    def _listen(self):
        channel = control_channel(self._session_id)
        client = _node_client(self._redis, channel)
        self._conn = client.connection_pool.make_connection()
        self._conn.connect()
        self._conn.send_command("SSUBSCRIBE" if _cluster_of(self._redis) else "SUBSCRIBE",
                                channel)
        self._conn.read_response()  # the subscription's confirmation

    def _lost(self):
        self.close()
        self._conn = None
        cluster = _cluster_of(self._redis)
        if cluster is not None:
            try:
                cluster.nodes_manager.initialize()  # the channel's slot may have a new master
            except redis.RedisError:
                pass

    def heard(self):
        try:
            if not self._heard and self._conn is None:
                self._listen()
                self._heard = is_cancelled(self._redis, self._session_id)
            while not self._heard and self._conn.can_read(timeout=0):
                reply = self._conn.read_response()
                if reply and reply[0] in (b"message", b"smessage"):
                    self._heard = True
        except redis.RedisError:
            self._lost()
        return self._heard

    def close(self):
        if self._conn is not None:
            self._conn.disconnect()


def run_request(redis_client, session_id, handler, max_len=DEFAULT_MAX_LEN, ttl=DEFAULT_TTL):
    """Runs handler(writer) for a session unless it is cancelled, with writer
    the session's SessionWriter; True when it ran to its end. A cancel before
    pickup or during the handler (seen at its next publish) records
    `cancelled` instead; an end the gateway recorded stops it quietly."""
    writer = SessionWriter(redis_client, session_id, max_len, ttl)
    writer.control = _ControlListener(redis_client, session_id)
    try:
        if is_cancelled(redis_client, session_id):
            _confirm(writer)
            return False
        try:
            handler(writer)
        except SessionCancelled:
            _confirm(writer)
            return False
        except SessionEnded:
            return False
        return True
    finally:
        writer.control.close()


def _confirm(writer):
    try:
        writer.record_cancelled()
    except SessionEnded:
        pass  # it had ended already: nothing to confirm
