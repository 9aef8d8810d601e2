"""`provenance daemon` (watch the roots in the foreground) and `provenance status`."""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from provenance.catalog import utcnow
from provenance.cli.app import App, echo_json, pass_app
from provenance.cli.logs import formatter_for
from provenance.daemon.systemd import SERVICE_ACCOUNT
from provenance.service import daemon
from provenance.service.status import RootStatus, Status
from provenance.service.status import status as service_status

#: `provenance status` exit code when no daemon runs (as LSB init scripts and systemctl do).
NOT_RUNNING = 3


def _log_for_daemon(log_format: str, debug: bool) -> None:
    """The daemon logs one INFO line per change that matters (to stderr: the journal)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_provenance", False):
            if not debug:
                handler.setLevel(logging.INFO)
            handler.setFormatter(formatter_for(log_format, sys.stderr))
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


@click.command("daemon")
@click.argument("roots", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line, for log shippers.",
)
@click.option(
    "--print-unit", is_flag=True, help="Print a systemd unit file for this daemon and exit."
)
@click.option(
    "--user",
    default=SERVICE_ACCOUNT,
    show_default=True,
    help="With --print-unit: the service account the unit runs the daemon as.",
)
@click.option("--group", help="With --print-unit: its group (default: the same name as --user).")
@pass_app
def daemon_command(
    app: App,
    roots: tuple[Path, ...],
    log_format: str,
    print_unit: bool,
    user: str,
    group: str | None,
) -> None:
    """Watch the roots (from the command line or the config) and catalog changes as they happen.

    Runs in the foreground (systemd supervises it: see --print-unit). At start-up every
    root is scanned, so changes made while the daemon was down are caught up; then files
    are read once they are complete, moves keep their records, and deletes are marked
    missing unless the root is offline. SIGTERM or SIGINT stops it (the batch in hand is
    finished); SIGHUP reloads the config.
    """
    if print_unit:
        unit = daemon.systemd_unit(app, roots, user, group)
        for folder, closed in unit.closed:
            click.echo(
                f"warning: {folder} is under {closed}, which other accounts cannot enter: the "
                f"service account may not be able to run it (install provenance in a venv "
                "outside home folders, e.g. /opt/provenance)",
                err=True,
            )
        click.echo(unit.text, nl=False)
        return
    context = click.get_current_context()
    if group is not None or context.get_parameter_source("user") != ParameterSource.DEFAULT:
        raise click.UsageError("--user and --group go with --print-unit")
    _log_for_daemon(log_format, app.debug)
    if daemon.run_daemon(app, app.caller, roots):
        # The consumer did not finish its batch in time: its reads are still queued in the
        # worker pool, and a normal exit would wait for every one of them (concurrent.futures
        # joins its pools at exit, the reads of a whole batch on a slow share). os._exit is
        # the documented way to leave without that wait; the workers end with their parent
        # (workers.worker_setup) and the next start-up scan records what was left.
        logging.shutdown()
        os._exit(0)


def _age(value: Any, now: datetime) -> str:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return "?"
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds}s ago"


def _when(value: Any, now: datetime) -> str:
    """A time as people read it: minutes in UTC, and how long ago."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({_age(when, now)})"


def _hearing(root: RootStatus, now: datetime) -> str:
    """How a watched root proved it hears, e.g. "hears (canary 12s ago)"."""
    if root.hears:
        how = "canary" if root.proof == "canary" else "device and inode"
        text = f"hears ({how} {_age(root.proved_at, now)})"
    else:
        text = "NOT PROVEN to hear yet"
    if root.deaf_restarts:
        text += (
            f", restarted {root.deaf_restarts} times as deaf "
            f"(last {_age(root.last_deaf_at, now)}: {root.last_deaf})"
        )
    return text


def _mode(socket: Path | None) -> dict[str, Any]:
    """Which catalog this command line used: the daemon's, through its socket (``shared``:
    the caller's roles come from the daemon's config), or one it opened itself (``own``)."""
    if socket is not None:
        return {"mode": "shared", "socket": str(socket)}
    return {"mode": "own", "socket": None}


def _catalog_line(status: Status, mode: dict[str, Any]) -> str:
    if mode["mode"] == "shared":
        return (
            f"catalog: via the daemon's socket {mode['socket']} "
            "(shared; your roles from its config)"
        )
    return f"catalog: {status.catalog} (your own)"


def _render(status: Status, mode: dict[str, Any]) -> str:
    now = utcnow()
    daemon = status.daemon or {}
    if status.running:
        since = _when(daemon.get("started_at", "?"), now)
        lines = [
            f"daemon: running (pid {status.pid}, since {since}, "
            f"status written {_age(daemon.get('updated_at'), now)}); "
            f"queue {daemon.get('queue', '?')}, errors {daemon.get('errors', 0)}, "
            f"backlog {daemon.get('backlog', 0)}"
        ]
        if daemon.get("consumer_stalled_for"):
            lines[0] += f"; STUCK: no progress for {daemon['consumer_stalled_for']:.0f}s"
        if daemon.get("last_error"):
            lines.append(f"catalog error: {daemon['last_error']} (changes kept, retried)")
        for name, hook in (daemon.get("notify") or {}).items():
            text = (
                f"webhook {name}: {hook.get('sent', 0)} notices sent since the start, "
                f"{hook.get('failed', 0)} sends failed (tried again), "
                f"{hook.get('given_up', 0)} given up"
            )
            if hook.get("given_up"):
                text += f" (refused for good; the last: {hook.get('last_given_up')})"
            if hook.get("failures"):
                text += (
                    f"; FAILING ({hook['failures']} tries): {hook.get('last_error')}; "
                    f"nothing skipped, next try in {hook.get('retry_in', 0):.0f}s"
                )
            lines.append(text)
    else:
        lines = [f"daemon: not running on this host (state dir {status.state_dir})"]
    lines.append(_catalog_line(status, mode))
    for root in status.roots:
        health = "online" if root.online else f"OFFLINE ({root.reason})"
        watch = f"watched ({root.mode})" if root.watching else "not watched"
        if root.watching:
            watch += ", " + _hearing(root, now)
        last = _when(root.last_scan, now) if root.last_scan else "never"
        files = f", {root.last_scan_files} files" if root.last_scan_files is not None else ""
        lines.append(f"  {root.path}: {health}, {watch}, last scan {last}{files}")
        if root.stale_sidecars:
            lines.append(
                f"    problem: {root.stale_sidecars} files beside a sidecar of ours written for "
                "other content, ignored as evidence (provenance scan names them)"
            )
    counts = ", ".join(f"{n} {s}" for s, n in sorted(status.counts.items())) or "none"
    lines.append(f"assets: {counts}")
    unreadable = status.unreadable
    if unreadable.files:
        lines.append(
            f"files that could not be read: {unreadable.files}; "
            f"{unreadable.not_retried} not read again until they change "
            "(provenance list --unreadable)"
        )
    lines += [
        f"interrupted {w.operation} of {w.path} waits: {w.reason}" for w in status.interrupted
    ]
    return "\n".join(lines)


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_app
def status_command(app: App, as_json: bool) -> None:
    """Show whether a daemon runs on this host, its roots and their health, the catalog's counts,
    and which catalog you use: the daemon's through its socket (shared) or your own.

    Exits 3 when no daemon runs (as systemctl status does).
    """
    status = service_status(app, app.caller)
    remote = app.remote
    mode = _mode(remote.path if remote is not None else None)
    if as_json:
        echo_json({**status.as_dict(), **mode})
    else:
        click.echo(_render(status, mode))
    if not status.running:
        raise click.exceptions.Exit(NOT_RUNNING)


__all__ = ["daemon_command", "status_command"]
