"""The command line: parse, call one service, render. Only this package knows click."""

from __future__ import annotations

import gc
import importlib
import logging
import os
import select
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from provenance import __version__
from provenance.cli.app import App, UserError
from provenance.errors import ProvenanceError

log = logging.getLogger("provenance")


#: Each command and where it lives: a command's module (and what it imports, such as the
#: scheduler or the report renderers) loads only when that command runs.
COMMANDS = {
    "scan": "provenance.cli.scan:scan_command",
    "list": "provenance.cli.inspect:list_command",
    "show": "provenance.cli.inspect:show_command",
    "tag": "provenance.cli.tag:tag_command",
    "report": "provenance.cli.report:report_command",
    "config": "provenance.cli.configure:config_group",
    "daemon": "provenance.cli.daemon:daemon_command",
    "status": "provenance.cli.daemon:status_command",
    "sweep": "provenance.cli.sweep:sweep_command",
    "restore": "provenance.cli.sweep:restore_command",
    "hold": "provenance.cli.hold:hold_command",
    "release": "provenance.cli.hold:release_command",
    "audit": "provenance.cli.audit:audit_group",
    "log": "provenance.cli.audit:log_command",
    "clear": "provenance.cli.clear:clear_command",
    "revoke": "provenance.cli.clear:revoke_command",
    "uncleared": "provenance.cli.clear:uncleared_command",
    "fixity": "provenance.cli.clear:fixity_command",
    "notify": "provenance.cli.notify:notify_group",
    "thumbnails": "provenance.cli.thumbnails:thumbnails_group",
}


class _UsageError(click.UsageError):
    """A mistake in the command line (an unknown option or command, a bad value): one
    ``error: ...`` line with where to read more, exit status 2, not click's usage, hint and
    ``Error:`` lines."""

    def __init__(self, original: click.UsageError) -> None:
        super().__init__(original.format_message(), original.ctx)

    def show(self, file: Any = None) -> None:
        where = self.ctx.command_path if self.ctx is not None else "provenance"
        click.echo(f"error: {self.format_message()} (see: {where} --help)", err=True)


class _Group(click.Group):
    """Turns ProvenanceError into one ``error: ...`` line; tracebacks only with --debug.

    Commands are loaded on first use (``COMMANDS``).
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, name = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), name)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _UsageError(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProvenanceError as exc:
            app = ctx.find_object(App)
            if app is not None and app.debug:
                log.exception("failed")
            raise UserError(str(exc)) from exc
        except click.UsageError as exc:  # a subcommand's options or arguments
            raise _UsageError(exc) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            # Ctrl-C: what was committed stays (a scan resumes where it stopped); the
            # status a shell expects after SIGINT
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(130) from None
        except Exception as exc:
            if isinstance(exc, BrokenPipeError) and _stdout_gone():
                # the reader of our output went away (`provenance log | head`): not an error
                _silence_stdout()
                raise click.exceptions.Exit(0) from None
            app = ctx.find_object(App)
            if app is not None and app.debug:
                raise
            log.debug("internal error", exc_info=True)
            raise UserError(
                f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
            ) from exc


def _setup_logging(verbose: int, debug: bool, log_format: str = "text") -> logging.Handler:
    """Send log records to stderr (WARNING; INFO with -v; everything with --debug)."""
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_provenance", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler._provenance = True  # type: ignore[attr-defined]
    handler.setLevel(level)
    from provenance.cli.logs import formatter_for

    handler.setFormatter(formatter_for(log_format, sys.stderr))
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return handler


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="PROVENANCE_CONFIG",
    help="TOML settings file (default: /etc/provenance/provenance.toml, else "
    "provenance.toml in the user's config directory, else built-in defaults) "
    "[env: PROVENANCE_CONFIG].",
)
@click.option(
    "--via-daemon",
    is_flag=True,
    help="Send the command to the daemon's socket (daemon.socket), as when this user cannot "
    "open the daemon's catalog itself.",
)
@click.option("-v", "--verbose", count=True, help="Log one line per change (INFO).")
@click.option("--debug", is_flag=True, help="Log everything and show tracebacks.")
@click.version_option(__version__, prog_name="provenance")
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path | None, via_daemon: bool, verbose: int, debug: bool
) -> None:
    """Track generative-AI assets on production storage.

    Finds AI-generated files by their marks (C2PA, IPTC XMP, Stable Diffusion text,
    EXIF, sidecars, path rules), records their provenance in a catalog, tags them, and
    keeps them temporary until cleared.
    """
    handler = _setup_logging(verbose, debug)
    ctx.obj = App(config_path=config_path, debug=debug, via_daemon=True if via_daemon else None)
    ctx.call_on_close(ctx.obj.close)
    ctx.call_on_close(lambda: logging.getLogger().removeHandler(handler))


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (the ``provenance`` console script)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="provenance")
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # the reader of our output went away (`provenance log | head`): not an error
        _silence_stdout()
        sys.exit(0)


def _stdout_gone() -> bool:
    """Whether the reader of standard output went away (its pipe reports an error)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return False
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def _silence_stdout() -> None:
    """Send what is still to be written to standard output nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def run() -> None:
    """The ``provenance`` console script and ``python -m provenance``."""
    try:
        main()
    finally:
        # the process ends: its last collection would walk every object left (a command
        # that opened the catalog holds hundreds of thousands), which are freed as their
        # modules go without it (0.08 s of each such command's exit)
        gc.freeze()


__all__ = ["cli", "main", "run"]
