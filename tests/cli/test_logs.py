"""Log lines: JSON objects with structured fields, syslog priorities for the journal."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from provenance.cli.logs import JournalFormatter, formatter_for, json_formatter
from tests.media import write_a1111_png
from tests.watch.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]


def _record(level: int, message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("provenance.ingest.ingest", level, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_the_fields_given_with_extra() -> None:
    record = _record(
        logging.INFO,
        "indexed /mnt/show a/é.png: ai (ComfyUI)",
        event="indexed",
        asset="0000-1",
        path="/mnt/show a/é.png",
        root="/mnt/show a",
    )
    line = json_formatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert list(data)[:4] == ["at", "level", "logger", "message"]
    assert data["level"] == "info" and data["logger"] == "provenance.ingest.ingest"
    assert data["message"] == "indexed /mnt/show a/é.png: ai (ComfyUI)"
    assert data["at"].endswith("+00:00")
    assert {k: data[k] for k in ("event", "asset", "path", "root")} == {
        "event": "indexed",
        "asset": "0000-1",
        "path": "/mnt/show a/é.png",
        "root": "/mnt/show a",
    }


def test_json_lines_carry_the_traceback() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = _record(logging.ERROR, "failed")
        record.exc_info = sys.exc_info()
    data = json.loads(json_formatter().format(record))
    assert data["level"] == "error" and "ValueError: bad" in data["traceback"]


def test_journal_lines_lead_with_their_syslog_priority() -> None:
    formatter = JournalFormatter(logging.Formatter("%(levelname)s %(message)s"))
    assert formatter.format(_record(logging.DEBUG, "d")) == "<7>DEBUG d"
    assert formatter.format(_record(logging.INFO, "i")) == "<6>INFO i"
    assert formatter.format(_record(logging.WARNING, "w")) == "<4>WARNING w"
    assert formatter.format(_record(logging.ERROR, "two\nlines")) == "<3>ERROR two\n<3>lines"
    assert formatter.format(_record(logging.CRITICAL, "c")) == "<2>CRITICAL c"


def test_journal_priorities_only_when_stderr_is_the_journals_stream(tmp_path: Path) -> None:
    journal, other = tmp_path / "journal", tmp_path / "other"
    with open(journal, "w") as stream, open(other, "w") as elsewhere:
        info = os.fstat(stream.fileno())
        os.environ["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"
        try:
            assert isinstance(formatter_for("text", stream), JournalFormatter)
            assert isinstance(formatter_for("json", stream), JournalFormatter)
            assert not isinstance(formatter_for("text", elsewhere), JournalFormatter)
        finally:
            del os.environ["JOURNAL_STREAM"]
        assert not isinstance(formatter_for("text", stream), JournalFormatter)


def _provenance(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    log = tmp_path / "stderr.log"
    with open(log, "wb") as stream:
        info = os.fstat(stream.fileno())
        environ = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}",
            **env,
        }
        return subprocess.Popen(
            [sys.executable, "-m", "provenance", *args],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=stream,
        )


def test_a_command_under_journald_gives_each_line_its_priority(tmp_path: Path) -> None:
    root = tmp_path / "show"
    write_a1111_png(root / "ai.png")
    process = _provenance(tmp_path, "-v", "scan", str(root))
    assert process.wait(60) == 0
    lines = (tmp_path / "stderr.log").read_text().splitlines()
    assert any(line.startswith("<6>INFO provenance.") and "ai.png" in line for line in lines)
    assert all(line.startswith("<") for line in lines), lines


def test_daemon_json_log_under_journald(tmp_path: Path) -> None:
    root = tmp_path / "show"
    write_a1111_png(root / "ai.png")
    process = _provenance(tmp_path, "daemon", str(root), "--log-format", "json")
    log = tmp_path / "stderr.log"
    try:
        wait_for(
            lambda: "reconciliation scan done" in log.read_text() or process.poll() is not None,
            60,
            "the start-up scan",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    lines = log.read_text().splitlines()
    assert lines and all(line.startswith("<") for line in lines), lines
    records = [json.loads(line.split(">", 1)[1]) for line in lines]
    indexed = next(r for r in records if r.get("event") == "indexed")
    assert indexed["path"] == str(root / "ai.png") and indexed["root"] == str(root)
    assert indexed["ai_class"] == "ai" and indexed["asset"]
    assert lines[records.index(indexed)].startswith("<6>")
