"""The README's examples run as a new user runs them after the quickstart: in the README's order,
each in a fresh process, with the variables the quickstart tells them to export, and none fails
or prints a traceback.

A runnable snippet is a fenced block right after a marker comment::

    <!-- snippet: NAME [file=PATH] [background] [restart] -->

- ``python`` blocks are saved to a file and run with this interpreter; ``bash`` blocks run in bash,
  with this interpreter's folder first on ``PATH`` (the quickstart's activated ``.venv``). Both run
  in a scratch folder holding a link to ``examples/``.
- ``file=PATH``: the block is that file of the repository, word for word (the quickstart points to
  the files).
- ``background``: a server (the webhook receiver). Started, then the next snippets run; stopped
  with Ctrl-C's SIGINT at the end, when it too must exit 0 without a traceback.
- ``restart``: the command that restarts the quickstart with settings. Not run (this test is what
  runs after the quickstart); the settings it names are checked against the URL policy instead.

The only liberty taken: the README's addresses are the quickstart's, the API on 127.0.0.1:8000 and
a receiver on 127.0.0.1:8001. The test stack's API listens elsewhere, and its webhooks may reach
127.0.0.2 (the suite keeps 127.0.0.1 forbidden, for its SSRF tests), so those two addresses are
replaced by the stack's, in every snippet, before it runs.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import openai
import pytest
from standardwebhooks import Webhook

from tests.helpers import RECEIVER_HOST
from tests.stack import REPO, ServiceStack, free_port, wait_until
from videogen.outbound.url_policy import WebhookURLError, url_policy
from videogen.settings import Settings

README = (REPO / "README.md").read_text()
MARKER = re.compile(
    r"^<!-- snippet: (?P<name>[\w-]+)(?P<options>[^>]*?)\s*-->\n```(?P<lang>\w+)\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
QUICKSTART_API = "http://127.0.0.1:8000"
QUICKSTART_RECEIVER = "http://127.0.0.1:8001"
RECEIVER_URL = f"{QUICKSTART_RECEIVER}/videogen"
SNIPPET_TIMEOUT = 180  # seconds: bounds a failure, never a pause
SORA_WARNING = "The Sora API is scheduled to permanently shut down"


@dataclass(frozen=True)
class Snippet:
    name: str
    lang: str
    code: str
    options: frozenset[str]
    file: str | None

    @property
    def runs(self) -> bool:
        return "restart" not in self.options


def snippets() -> list[Snippet]:
    found = []
    for match in MARKER.finditer(README):
        words = match["options"].split()
        file = next((w.removeprefix("file=") for w in words if w.startswith("file=")), None)
        options = frozenset(w for w in words if not w.startswith("file="))
        found.append(Snippet(match["name"], match["lang"], match["code"], options, file))
    return found


def by_name(name: str) -> Snippet:
    return next(s for s in snippets() if s.name == name)


def test_the_readmes_examples_are_marked_and_mirror_the_example_files() -> None:
    found = snippets()
    names = [s.name for s in found]
    assert len(names) == len(set(names)), f"two snippets share a name: {names}"
    for name in ("sdk-quickstart", "webhook-settings", "webhook-receiver", "webhook-video", "webhook-rotate"):
        assert name in names, f"the README lost its {name!r} snippet"
    for snippet in found:
        assert snippet.lang in {"python", "bash"}, f"{snippet.name}: cannot run a {snippet.lang} block"
        if snippet.file:
            assert (REPO / snippet.file).read_text() == snippet.code, f"{snippet.name} differs from {snippet.file}"


def test_the_two_settings_are_what_a_loopback_receiver_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The restart command's settings, read from the environment as the stack reads them, let the
    walkthrough's receiver URL through; the defaults refuse it."""
    command = shlex.split(by_name("webhook-settings").code)
    assignments = dict(word.split("=", 1) for word in command if word.startswith("VIDEOGEN_"))
    assert set(assignments) == {"VIDEOGEN_WEBHOOK_ALLOW_HTTP", "VIDEOGEN_WEBHOOK_ALLOWED_HOSTS"}
    assert command[-2:] == ["KEEP_RUNNING=1", "scripts/quickstart.sh"]
    for name in [n for n in os.environ if n.startswith("VIDEOGEN_")]:
        monkeypatch.delenv(name)
    for alone in [{}, *({name: value} for name, value in assignments.items())]:  # none, or one of the two
        with monkeypatch.context() as env, pytest.raises(WebhookURLError):
            for name, value in alone.items():
                env.setenv(name, value)
            url_policy(Settings(_env_file=None)).resolve(RECEIVER_URL)
    for name, value in assignments.items():
        monkeypatch.setenv(name, value)
    assert url_policy(Settings(_env_file=None)).resolve(RECEIVER_URL).address == "127.0.0.1"
    assert RECEIVER_URL in by_name("webhook-receiver").code and RECEIVER_URL in by_name("webhook-rotate").code


def test_the_sora_warning_is_what_the_readme_says_and_its_filter_silences_it(
    embedded_stack: ServiceStack, readme_key: str
) -> None:
    """The SDK warns on a videos call; the README's ``filterwarnings`` line, taken from the
    example, silences exactly that."""
    (filter_line,) = [line for line in by_name("sdk-quickstart").code.splitlines() if "filterwarnings" in line]
    assert f"`{filter_line}`" in README
    with openai.OpenAI(base_url=embedded_stack.base_url, api_key=readme_key) as client:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            client.videos.list(limit=1)
        messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
        assert messages == ["The Sora API is scheduled to permanently shut down on September 24, 2026."]
        assert f"DeprecationWarning: {messages[0]}" in " ".join(README.split())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            exec(filter_line, {"warnings": warnings})  # the README's own line
            client.videos.list(limit=1)
        assert not caught


def test_the_sdks_unwrap_types_our_events_as_an_unrelated_class_and_verify_signature_does_not() -> None:
    """What the README says of the SDK's two verifiers, on an event signed as videogen signs one."""
    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    body = json.dumps({"id": "evt_1", "object": "event", "type": "video.completed", "created_at": 1, "data": {}})
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_1", now, body),
    }
    client = openai.OpenAI(api_key="unused")
    client.webhooks.verify_signature(body, headers, secret=secret)
    assert json.loads(body)["type"] == "video.completed"
    unwrapped = client.webhooks.unwrap(body, headers, secret=secret)
    assert "video" not in type(unwrapped).__name__.lower(), "the SDK now knows video events: update the README"


@pytest.fixture(scope="module")
def readme_key(embedded_stack: ServiceStack) -> str:
    """A new user's key, made as the quickstart makes it (``videogen keys create``)."""
    return embedded_stack.create_key("readme-newcomer")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The user's folder: the examples at hand, as in a clone."""
    (tmp_path / "examples").symlink_to(REPO / "examples")
    return tmp_path


def user_env(stack: ServiceStack, key: str) -> dict[str, str]:
    """This machine's environment without developer settings, plus what the quickstart says to export."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDEOGEN_", "OPENAI_", "PYTHONWARNINGS"))}
    env.update(
        VIDEOGEN_BASE_URL=stack.base_url,
        VIDEOGEN_API_KEY=key,
        OPENAI_BASE_URL=stack.base_url,
        OPENAI_API_KEY=key,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    return env


def command_for(snippet: Snippet, code: str, workdir: Path) -> list[str]:
    if snippet.lang == "python":
        script = workdir / f"{snippet.name}.py"
        script.write_text(code)
        return [sys.executable, str(script)]
    return ["bash", "-euo", "pipefail", "-c", code]


class Background:
    """A snippet that serves until stopped, its output collected as it comes."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path):
        self.process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, count: int = 1) -> None:
        def seen() -> bool:
            return len(re.findall(pattern, self.output)) >= count

        def seen_or_exited() -> bool:
            return seen() or (self.process.poll() is not None and not self._reader.is_alive())

        wait_until(seen_or_exited, SNIPPET_TIMEOUT, interval=0.05, message=f"{pattern!r} x{count} in:\n{self.output}")
        assert seen(), f"exited {self.process.returncode} before printing {pattern!r} x{count}:\n{self.output}"

    def stop(self) -> int:
        """Ctrl-C, as the README says."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        return code


@pytest.fixture
def background() -> Iterator[list[Background]]:
    started: list[Background] = []
    yield started
    for server in started:
        server.stop()


def test_every_readme_snippet_runs_in_order_after_the_quickstart(
    embedded_stack: ServiceStack, readme_key: str, workdir: Path, background: list[Background]
) -> None:
    receiver_root = f"http://{RECEIVER_HOST}:{free_port()}"
    addresses = {QUICKSTART_API: embedded_stack.root_url, QUICKSTART_RECEIVER: receiver_root}
    env = user_env(embedded_stack, readme_key)
    servers: dict[str, Background] = {}
    for snippet in (s for s in snippets() if s.runs):
        code = snippet.code
        for quickstart, here in addresses.items():
            code = code.replace(quickstart, here)
        command = command_for(snippet, code, workdir)
        if "background" in snippet.options:
            server = Background(command, env, workdir)
            background.append(server)
            servers[snippet.name] = server
            server.wait_for(r"receives at")
            continue
        result = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True, timeout=SNIPPET_TIMEOUT)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{snippet.name} exited {result.returncode}:\n{output}"
        assert "Traceback" not in output, f"{snippet.name}:\n{output}"
        assert SORA_WARNING not in output, f"{snippet.name} printed the Sora warning:\n{output}"

    # What the examples say they do.
    assert (workdir / "fox.mp4").read_bytes()[4:8] == b"ftyp"
    assert (workdir / "fox.jpg").read_bytes()[:2] == b"\xff\xd8"
    receiver = servers["webhook-receiver"]
    # The receiver's own test event, then the rotation's (verified with the old secret), both
    # answered 204; and the video made meanwhile.
    receiver.wait_for(r"video\.completed video_test completed", count=2)
    receiver.wait_for(r"video\.completed video_(?!test)\w+ completed")
    assert "rejected" not in receiver.output, receiver.output
    assert receiver.stop() == 0, receiver.output
    assert "Traceback" not in receiver.output, receiver.output
    assert "test event answered 204" in receiver.output
