"""The daemon serves the review queue only when asked, says in one line what to install when
it cannot, and never loads the web libraries otherwise (its idle memory)."""

from __future__ import annotations

import importlib.util
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provenance.cli import cli
from tests.media import write_a1111_png
from tests.watch.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]
WEB_MODULES = ("starlette", "uvicorn", "jinja2", "multipart", "pamela", "provenance.web")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(tmp_path: Path, web: str) -> Path:
    root = tmp_path / "show_a"
    write_a1111_png(root / "shot" / "frame.png")
    config = tmp_path / "provenance.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[[roots]]\npath = "{root}"\n{web}')
    return config


def test_the_daemon_serves_the_queue_and_metrics_when_enabled(tmp_path: Path) -> None:
    port = _free_port()
    config = _config(tmp_path, f"[web]\nenabled = true\nport = {port}\n")
    log = tmp_path / "daemon.log"
    with open(log, "wb") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "provenance", "--config", str(config), "daemon"],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stream,
        )
    try:
        wait_for(
            lambda: "reconciliation scan done" in log.read_text() or process.poll() is not None,
            180,
            "the start-up scan",
        )
        assert process.poll() is None, log.read_text()
        assert f"serving the review queue on http://127.0.0.1:{port}/" in log.read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
            metrics = answer.read().decode()
        assert re.search(r"^provenance_daemon_start_timestamp_seconds \S+$", metrics, re.M)
        counted = r'^provenance_ai_assets\{root=".*show_a",status="temporary"\} 1'
        assert re.search(counted, metrics, re.M)
        opener = urllib.request.build_opener(_NoRedirect())
        with pytest.raises(urllib.error.HTTPError) as sent:
            opener.open(f"http://127.0.0.1:{port}/", timeout=30)
        assert sent.value.code == 303 and sent.value.headers["location"].startswith("/login")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    text = log.read_text()
    assert "Traceback" not in text, text
    with socket.socket() as probe:  # the port is free again (as the daemon binds it)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_an_address_in_use_stops_the_daemon_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = _config(tmp_path, f"[web]\nenabled = true\nport = {port}\n")
        done = subprocess.run(
            [sys.executable, "-m", "provenance", "--config", str(config), "daemon"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: web: cannot listen on 127.0.0.1:{port}: Address already in use"]
    assert "Traceback" not in done.stderr


def test_without_the_web_libraries_one_line_says_what_to_install(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, "[web]\nenabled = true\nport = 0\n")
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "starlette" else found(name, *args),
    )
    result = runner.invoke(cli, ["--config", str(config), "daemon"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: web.enabled: the web review queue needs starlette: "
        'pip install "provenance-tracker[web]"'
    )


def test_with_the_web_off_the_daemon_loads_no_web_library() -> None:
    code = (
        "import sys, provenance.cli, provenance.daemon.service, provenance.config.web\n"
        f"print(sorted(m for m in sys.modules if m.startswith({WEB_MODULES!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
