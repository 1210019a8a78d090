"""Benchmark webhook delivery on this machine: how many deliveries per second one sender process
makes, and what one costs, from outbox row to recorded attempt (claim, sign, POST, record).

    python scripts/bench_webhooks.py [--deliveries 500] [--threads 8] [--database-url URL]

Uses the real code path: jobs are cancelled through the state machine (which writes the outbox),
then ``WebhookSender.deliver`` sends each to a local HTTP receiver that answers 200 at once. The
database defaults to a fresh SQLite file; pass a PostgreSQL URL to measure that instead (the
database must exist and be empty, or at least migratable). No broker is involved.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select

from cli.main import upgrade_database
from videogen.accounts.tables import Organization
from videogen.database import session_scope
from videogen.ids import new_id
from videogen.outbound.url_policy import url_policy
from videogen.secret_box import secret_box
from videogen.settings import Settings
from videogen.videos import jobs
from videogen.videos.tables import Video, VideoStatus
from videogen.webhooks import endpoints
from videogen.webhooks.sender import WebhookSender
from videogen.webhooks.tables import WebhookDelivery

HOST = "127.0.0.2"


class _Ok(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _videos(settings: Settings, count: int, url: str) -> list[str]:
    """An organization with one endpoint, and ``count`` cancelled videos: one delivery each."""
    with session_scope(settings.database_url) as session:
        org = Organization(id=new_id("org"), name=f"bench-{new_id('x')}", tier="standard")
        session.add(org)
        session.flush()
        endpoints.create_endpoint(
            session,
            secret_box(settings),
            url_policy(settings),
            org.id,
            url=url,
            event_types=None,
            name="bench",
        )
        ids = [new_id("video") for _ in range(count)]
        session.add_all(
            Video(
                id=video_id,
                organization_id=org.id,
                status=VideoStatus.IN_PROGRESS,
                model="hunyuanvideo-tiny",
                prompt="benchmark",
                seconds="2",
                width=256,
                height=256,
                fps=8,
                num_frames=17,
                num_inference_steps=4,
                guidance_scale=6.0,
                seed=0,
            )
            for video_id in ids
        )
        session.flush()
        started = time.perf_counter()
        for video_id in ids:
            jobs.cancel(session, video_id)  # the state machine writes event + delivery (outbox)
        outbox_ms = (time.perf_counter() - started) * 1000 / count
        deliveries = list(session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.organization_id == org.id)))
    print(f"outbox: {outbox_ms:.2f} ms per job transition with its event and delivery")
    return deliveries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    server = ThreadingHTTPServer((HOST, 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=args.database_url,
            secret_key=Fernet.generate_key().decode(),
            webhook_allow_http=True,
            webhook_allowed_hosts=[HOST],
        )
        upgrade_database(settings)
        deliveries = _videos(settings, args.deliveries, f"http://{HOST}:{server.server_address[1]}/hook")
        sender = WebhookSender(settings)
        latencies: list[float] = []

        def deliver(delivery_id: str) -> None:
            t0 = time.perf_counter()
            outcome = sender.deliver(delivery_id)
            assert outcome is not None and outcome.status == "succeeded", outcome
            latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(deliver, deliveries))
        elapsed = time.perf_counter() - started
    server.shutdown()

    quantiles = statistics.quantiles(latencies, n=20)
    backend = settings.database_url.split(":", 1)[0]
    print(
        f"{len(deliveries)} deliveries, {args.threads} threads, {backend}: {len(deliveries) / elapsed:.0f}/s; "
        f"per delivery p50 {quantiles[9] * 1000:.1f} ms, p95 {quantiles[18] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
