"""The Python gateway ssebridge replaces, as the seed documents describe
sse_driver.py: FastAPI + uvicorn, redis.asyncio Pub/Sub, a Kafka producer.

POST /v1/react/sessions checks the body, subscribes sse_session:{id}, produces
{"session_id", "request"} to Kafka and awaits its delivery, then streams:
it waits ACK_TIMEOUT for worker_ack, relays every message as a `data:` frame
with a keepalive comment after KEEPALIVE seconds of silence, and ends after
FinalAnswerStreamEnd (or an error event when the ack or the events do not
come). Written to be a fair peer in bench/run.sh: one process, the usual
idioms of the stack, nothing left slow on purpose.

    /usr/bin/python3 bench/peers/sse_driver.py --port 8090 \
        --redis redis://127.0.0.1:6379 --kafka-brokers 127.0.0.1:9092
"""
import argparse
import asyncio
import json
import uuid

import redis.asyncio as aioredis
import uvicorn
from confluent_kafka import KafkaException, Producer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

ACK_TIMEOUT = 10.0
KEEPALIVE = 15.0
IDLE_TIMEOUT = 300.0

app = FastAPI()
state = {}


def format_sse_event(data: str) -> str:
    return f"data: {data}\n\n"


def error_event(text: str) -> str:
    return format_sse_event(json.dumps({"event_type": "error", "payload": {"error": text}}))


async def produce(topic: str, key: str, value: bytes) -> None:
    """Produces and awaits the delivery report (a thread polls the producer)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def on_delivery(err, _msg):
        loop.call_soon_threadsafe(
            lambda: done.done() or (done.set_exception(KafkaException(err)) if err else done.set_result(None)))

    state["producer"].produce(topic, key=key, value=value, on_delivery=on_delivery)
    await asyncio.wait_for(done, timeout=5.0)


async def sse_event_streamer(session_id: str, pubsub):
    """Waits for worker_ack, then relays until FinalAnswerStreamEnd."""
    try:
        acked = False
        deadline = ACK_TIMEOUT
        while True:
            try:
                message = await asyncio.wait_for(
                    pubsub.get_message(ignore_subscribe_messages=True, timeout=None),
                    timeout=KEEPALIVE if acked else min(KEEPALIVE, deadline))
            except asyncio.TimeoutError:
                if not acked:
                    deadline -= KEEPALIVE
                    if deadline <= 0:
                        yield error_event("worker did not acknowledge in time")
                        return
                yield ": keepalive\n\n"
                continue
            if message is None:
                continue
            data = message["data"]
            if isinstance(data, bytes):
                data = data.decode()
            try:
                event = json.loads(data)
                event_type = event.get("event_type")
            except (ValueError, AttributeError):
                continue  # malformed: skipped
            if event_type == "worker_ack":
                acked = True
            yield format_sse_event(data)
            if event_type == "FinalAnswerStreamEnd":
                return
    finally:
        await pubsub.unsubscribe()
        await pubsub.close()


@app.post("/v1/react/sessions")
async def create_session(request: Request):
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"detail": "body is not JSON"}, status_code=400)
    if not isinstance(body, dict) or not isinstance(body.get("user_query"), str) or not body["user_query"]:
        return JSONResponse({"detail": "user_query must be a non-empty string"}, status_code=422)
    session_id = uuid.uuid4().hex
    pubsub = state["redis"].pubsub()
    await pubsub.subscribe(f"sse_session:{session_id}")
    record = json.dumps({"session_id": session_id, "request": body}).encode()
    try:
        await produce(state["topic"], session_id, record)
    except (KafkaException, asyncio.TimeoutError) as e:
        await pubsub.close()
        return JSONResponse({"detail": f"Kafka did not take the request: {e}"}, status_code=503)
    return StreamingResponse(sse_event_streamer(session_id, pubsub), media_type="text/event-stream",
                             headers={"X-Session-Id": session_id, "Cache-Control": "no-cache"})


@app.get("/readyz")
async def ready():
    return {"status": "ready"}


def poll_forever(producer, stop):
    while not stop.is_set():
        producer.poll(0.05)


def main():
    import threading

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--kafka-brokers", required=True)
    parser.add_argument("--kafka-topic", default="react_requests")
    args = parser.parse_args()
    state["redis"] = aioredis.from_url(args.redis, max_connections=None)
    state["producer"] = Producer({"bootstrap.servers": args.kafka_brokers, "linger.ms": 1})
    state["topic"] = args.kafka_topic
    stop = threading.Event()
    threading.Thread(target=poll_forever, args=(state["producer"], stop), daemon=True).start()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", workers=1)
    stop.set()


if __name__ == "__main__":
    main()
