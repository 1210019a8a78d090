"""The rules behind webhook delivery, each checked where it is decided: which URLs may be reached
(including DNS rebinding, where DNS, an outside system, is played by a resolver function), that a
delivery connects to the vetted address and nowhere else, and the retry schedule."""

from __future__ import annotations

import random
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.webhook_receiver import HOST as RECEIVER_HOST
from tests.webhook_receiver import Script, WebhookReceiver
from videogen.outbound.transport import parse_retry_after, send
from videogen.outbound.url_policy import WebhookResolutionError, WebhookURLError, WebhookURLPolicy
from videogen.webhooks.sender import retry_delay

PUBLIC_IP = "93.184.215.14"


def dns(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise WebhookResolutionError(f"cannot resolve {host!r}")
        return answers[host]

    return resolve


def test_https_is_required_unless_the_operator_allows_http() -> None:
    strict = WebhookURLPolicy(allow_http=False, allowed_hosts=[], resolver=dns({"hooks.example.com": [PUBLIC_IP]}))
    assert strict.resolve("https://hooks.example.com/in").address == PUBLIC_IP
    with pytest.raises(WebhookURLError, match="must use https"):
        strict.resolve("http://hooks.example.com/in")
    relaxed = WebhookURLPolicy(allow_http=True, allowed_hosts=[], resolver=dns({"hooks.example.com": [PUBLIC_IP]}))
    assert relaxed.resolve("http://hooks.example.com/in").port == 80


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.5", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fd00:ec2::254", "private"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
    ],
)
def test_names_resolving_to_internal_addresses_are_refused(address: str, reason: str) -> None:
    policy = WebhookURLPolicy(allow_http=False, allowed_hosts=[], resolver=dns({"evil.example": [address]}))
    with pytest.raises(WebhookURLError, match=reason):
        policy.resolve("https://evil.example/hook")


def test_one_internal_address_among_public_ones_is_enough_to_refuse() -> None:
    policy = WebhookURLPolicy(False, [], resolver=dns({"mixed.example": [PUBLIC_IP, "10.0.0.7"]}))
    with pytest.raises(WebhookURLError, match="private"):
        policy.resolve("https://mixed.example/")


def test_dns_rebinding_is_caught_at_delivery_time() -> None:
    """Public when registered, loopback when sent: the check at delivery refuses it."""
    answers = {"rebind.example": [PUBLIC_IP]}
    policy = WebhookURLPolicy(False, [], resolver=dns(answers))
    assert policy.resolve("https://rebind.example/hook").address == PUBLIC_IP
    answers["rebind.example"] = ["127.0.0.1"]
    with pytest.raises(WebhookURLError, match="loopback") as refused:
        policy.resolve("https://rebind.example/hook")
    assert not refused.value.retryable


def test_an_unresolvable_name_is_worth_a_retry_but_a_forbidden_address_is_not() -> None:
    policy = WebhookURLPolicy(False, [], resolver=dns({}))
    with pytest.raises(WebhookURLError) as unresolvable:
        policy.resolve("https://gone.example/")
    assert unresolvable.value.retryable


def test_operators_can_allow_specific_hosts_and_networks() -> None:
    policy = WebhookURLPolicy(
        True,
        ["receiver.internal", "10.20.0.0/16"],
        resolver=dns({"receiver.internal": ["10.9.9.9"], "other.internal": ["10.9.9.9"], "ok.internal": ["10.20.3.4"]}),
    )
    assert policy.resolve("http://receiver.internal/").address == "10.9.9.9"
    assert policy.resolve("http://ok.internal/").address == "10.20.3.4"
    with pytest.raises(WebhookURLError):
        policy.resolve("http://other.internal/")


@pytest.mark.parametrize(
    "url",
    ["", "hooks.example.com/no-scheme", "https://", "https://user@hooks.example.com/", "https://h.example:99999/"],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(WebhookURLError):
        WebhookURLPolicy(False, [], resolver=dns({"hooks.example.com": [PUBLIC_IP]})).resolve(url)


def test_a_delivery_connects_to_the_vetted_address_and_keeps_the_name() -> None:
    """`receiver.test` exists only in our resolver: the request can only arrive if the sender
    connected to the address the policy vetted, never resolving the name again."""
    receiver = WebhookReceiver().start()
    try:
        url = receiver.url(Script(status=202)).replace(RECEIVER_HOST, "receiver.test")
        policy = WebhookURLPolicy(True, ["receiver.test"], resolver=dns({"receiver.test": [RECEIVER_HOST]}))
        result = send(
            policy.resolve(url),
            b'{"hello": "world"}',
            {"webhook-id": "msg_1"},
            connect_timeout=10,
            total_timeout=30,
            max_response_bytes=1024,
        )
        assert result.succeeded and result.status_code == 202
        (request,) = receiver.requests(url)
        assert request.headers["Host"] == f"receiver.test:{receiver.port}"
        assert request.headers["webhook-id"] == "msg_1"
        assert request.body == b'{"hello": "world"}'
    finally:
        receiver.stop()


def test_the_retry_schedule_has_jitter_and_an_end() -> None:
    schedule = [5, 300, 1800]
    rng = random.Random(7)
    delays = [retry_delay(schedule, attempt, None, rng) for attempt in (1, 2, 3)]
    for delay, planned in zip(delays, schedule, strict=True):
        assert delay is not None and planned * 0.9 <= delay <= planned * 1.1
    assert retry_delay(schedule, 4, None, rng) is None  # used up: the delivery fails
    assert retry_delay(schedule, 1, 120, rng) == 120  # a longer Retry-After wins
    assert retry_delay(schedule, 1, 10 * 86400, rng) == 86400  # but not beyond a day


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30
    assert parse_retry_after(format_datetime(now + timedelta(minutes=2), usegmt=True), now) == 120
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.fixture(scope="module")
def tls_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, ssl.SSLContext, list[str]]]:
    """An HTTPS receiver on 127.0.0.2 with a certificate for `receiver.test` only; yields its port,
    a client context that trusts that certificate, and the SNI names clients sent."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("receiver.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_names: list[str] = []
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server_context.sni_callback = lambda _sock, server_name, _ctx: server_names.append(server_name)  # type: ignore[assignment,misc,return-value]

    class Ok(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(204)
            self.send_header("X-Seen-Host", self.headers["Host"])
            self.end_headers()

    server = ThreadingHTTPServer((RECEIVER_HOST, 0), Ok)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client_context = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    try:
        yield server.server_address[1], client_context, server_names
    finally:
        server.shutdown()


def test_https_deliveries_verify_the_certificate_against_the_name_not_the_address(
    tls_receiver: tuple[int, ssl.SSLContext, list[str]],
) -> None:
    port, trust, server_names = tls_receiver
    policy = WebhookURLPolicy(
        False,
        [RECEIVER_HOST],
        resolver=dns({"receiver.test": [RECEIVER_HOST], "impostor.test": [RECEIVER_HOST]}),
    )
    limits = {"connect_timeout": 10, "total_timeout": 30, "max_response_bytes": 1024, "tls_context": trust}

    ok = send(policy.resolve(f"https://receiver.test:{port}/hook"), b"{}", {}, **limits)  # type: ignore[arg-type]
    assert ok.succeeded and ok.status_code == 204
    assert server_names[-1] == "receiver.test"  # SNI carried the name, though we dialled the IP

    # Same address, another name: the certificate does not match, so nothing is sent.
    impostor = send(policy.resolve(f"https://impostor.test:{port}/hook"), b"{}", {}, **limits)  # type: ignore[arg-type]
    assert not impostor.succeeded and impostor.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in (impostor.error or "") or "certificate" in (impostor.error or "").lower()
