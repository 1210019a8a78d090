"""The embedded broker (a folder) hands consumers every message, whole, however many producers
write at once. (kombu's own filesystem transport lets a consumer take a file before its writer has
filled it, which crashed a Celery worker once under load; ours renames complete files into place.)"""

from __future__ import annotations

import threading
from pathlib import Path

import kombu

from videogen.broker import make_celery
from videogen.settings import Settings

PRODUCERS, MESSAGES = 4, 150


def test_concurrent_producers_never_expose_a_partial_message(tmp_path: Path) -> None:
    app = make_celery(Settings(data_dir=tmp_path))
    queue = kombu.Queue("stress")
    body = "x" * 20_000  # large enough that a write is not one instant

    def produce(n: int) -> None:
        with app.connection_for_write() as connection, connection.Producer() as producer:
            for i in range(MESSAGES):
                producer.publish({"producer": n, "i": i, "body": body}, routing_key="stress", declare=[queue])

    received: list[tuple[int, int]] = []
    producers = [threading.Thread(target=produce, args=(n,)) for n in range(PRODUCERS)]
    with app.connection_for_read() as connection, connection.SimpleQueue(queue) as consumer:
        for thread in producers:
            thread.start()
        while len(received) < PRODUCERS * MESSAGES:
            message = consumer.get(timeout=120)  # a partial file would raise JSONDecodeError here
            assert message.payload["body"] == body
            received.append((message.payload["producer"], message.payload["i"]))
            message.ack()
    for thread in producers:
        thread.join()
    assert sorted(received) == [(n, i) for n in range(PRODUCERS) for i in range(MESSAGES)]
