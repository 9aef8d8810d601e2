"""The daemon's socket API, as the service sees it: which actions it serves (``served``), the
wire form of their arguments and results, and the client the command line uses when the
catalog is the daemon's.

An action marked ``@served("verb")`` runs where the catalog is: in this process, or, when the
``App`` speaks to a daemon (``App.remote``), in the daemon, which calls the same function with
the caller its socket's peer credentials name. The caller's roles are the daemon's business
then; the result comes back as the same values (dataclasses, catalog rows, records), so the
command line renders it as it renders a local one.

The protocol: one JSON object per line, UTF-8. A request::

    {"v": 1, "id": 7, "verb": "list", "args": {"ai_only": true}}

(at most ``MAX_REQUEST`` bytes, sent within the daemon's ``daemon.socket_timeout``; any other
field, such as a user name, is ignored: who asks is the kernel's word). The answer is
``{"v": 1, "id": 7, "result": ...}``, or for a listing one ``{"v": 1, "id": 7, "item": ...}``
line per item then ``{"v": 1, "id": 7, "end": N}``; a failure, at any point, is
``{"v": 1, "id": 7, "error": "..."}``.

A long action (``@served(..., long=True)``: sweep, scan, fixity) runs in the daemon as a job
on the thread that writes the catalog, one at a time, while other clients are served as
ever; until it ends, its connection gets a ``{"v": 1, "id": 7, "progress": {...}}`` line
(``Progress``) whenever it moves on and at least every ``HEARTBEAT`` seconds, then the
result or the error. A client that leaves does not stop the job: it runs to its end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import json
import os
import socket
import stat
import struct
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

from provenance.errors import ProvenanceError

if TYPE_CHECKING:
    from provenance.config import Settings
    from provenance.service.context import App

F = TypeVar("F", bound=Callable[..., Any])

#: The protocol's version: a request or answer of another version is refused.
VERSION = 1
#: The most bytes a request line may hold (its newline included).
MAX_REQUEST = 64 * 1024
#: The most bytes an answer line may hold (a record of one asset with its history).
MAX_ANSWER = 64 * 1024 * 1024
#: The socket's name in the folder systemd makes for the unit (``RuntimeDirectory=``).
SOCKET_NAME = "api.sock"
#: systemd's ``RuntimeDirectory=provenance`` for the unit: where a client looks first.
SYSTEM_RUNTIME_DIR = Path("/run/provenance")
#: Set by systemd to the unit's ``RuntimeDirectory=``.
RUNTIME_ENV = "RUNTIME_DIRECTORY"
#: ``struct ucred``: pid (signed), uid and gid (unsigned).
UCRED = struct.Struct("iII")

#: Seconds between two progress lines of a long action at most (the client waits longer).
HEARTBEAT = 5.0
#: The keyword a long action hears its progress through (given by the daemon, never sent).
PROGRESS = "on_progress"

#: verb -> the service function that serves it (filled by ``served`` as modules load).
VERBS: dict[str, Callable[..., Any]] = {}
#: The verbs that run as jobs (``served(..., long=True)``).
LONG: set[str] = set()
#: The modules whose functions are served (imported by the daemon before it listens).
SERVED_MODULES = (
    "provenance.service.status",
    "provenance.service.assets",
    "provenance.service.decisions",
    "provenance.service.retention",
    "provenance.service.integrity",
    "provenance.service.report",
    "provenance.service.rescan",
)


class DaemonError(ProvenanceError):
    """The daemon could not be reached, or it answered with an error."""


@dataclasses.dataclass(frozen=True)
class Progress:
    """How far a long action has come: what it does now (``stage``: "sweeping", "walking
    /mnt/show_a", "reading"), and how many of how many (None: not known)."""

    stage: str
    done: int = 0
    total: int | None = None


def served(verb: str, *, paths: tuple[str, ...] = (), long: bool = False) -> Callable[[F], F]:
    """Mark a service function ``f(app, caller, ...)`` as served over the daemon's socket as
    ``verb``: called with an ``App`` that speaks to a daemon, it asks the daemon instead.

    ``paths``: the arguments that name files (a path, or a list of them): made absolute here,
    where the user's working folder is, before they are sent (an asset id is sent as is).
    ``long``: the action runs as a job in the daemon and tells its progress to its keyword
    ``on_progress`` (a ``Progress`` callback), here and there alike.
    """

    def mark(function: F) -> F:
        VERBS[verb] = function
        if long:
            LONG.add(verb)

        @functools.wraps(function)
        def call(app: App, caller: Any, *args: Any, **kwargs: Any) -> Any:
            remote = app.remote
            if remote is None:
                return function(app, caller, *args, **kwargs)
            bound = _signature(function).bind(app, caller, *args, **kwargs)
            sent = {
                name: to_wire(_absolute(value) if name in paths else value)
                for name, value in list(bound.arguments.items())[2:]
                if name != PROGRESS
            }
            returns = typing.get_type_hints(function).get("return", Any)
            return remote.call(verb, sent, returns, bound.arguments.get(PROGRESS))

        return typing.cast(F, call)

    return mark


def _absolute(value: Any) -> Any:
    """A path argument made absolute as the catalog keys it; a list of them each; None, and
    an asset id that names no file here, as they are."""
    from provenance.files.roots import resolve_path

    if value is None:
        return None
    if isinstance(value, str | Path):
        text = str(value)
        uid = len(text) == 36 and text.count("-") == 4
        return text if uid and not os.path.lexists(text) else resolve_path(text)
    return [_absolute(item) for item in value]


def load_verbs() -> dict[str, Callable[..., Any]]:
    """Import the service modules that serve verbs (those that exist) and return the table."""
    import importlib

    for name in SERVED_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return VERBS


@functools.cache
def _signature(function: Callable[..., Any]) -> Any:
    import inspect

    return inspect.signature(function)


def arguments(verb: str, given: Any) -> dict[str, Any]:
    """Check a request's ``args`` against the parameters of the verb's function (after ``app``
    and ``caller``) and return them decoded; DaemonError names the first one that is wrong."""
    function = VERBS[verb]
    if not isinstance(given, Mapping):
        raise DaemonError("args must be an object")
    parameters = [
        p for p in list(_signature(function).parameters.values())[2:] if p.name != PROGRESS
    ]
    hints = typing.get_type_hints(function)
    known = {p.name: p for p in parameters}
    for name in given:
        if name not in known:
            raise DaemonError(f"{verb}: unknown argument {name!r}")
    decoded = {}
    for name, value in given.items():
        try:
            decoded[name] = from_wire(hints.get(name, Any), value, strict=True)
        except (TypeError, ValueError) as exc:
            raise DaemonError(f"{verb}: argument {name!r}: {exc}") from None
    for parameter in parameters:
        if parameter.default is parameter.empty and parameter.name not in decoded:
            raise DaemonError(f"{verb}: argument {parameter.name!r} is missing")
    return decoded


# --- the wire form of values ------------------------------------------------------------------


def to_wire(value: Any) -> Any:
    """Return ``value`` as JSON values: a dataclass or a model as an object, a time as ISO
    8601 text, a path as text, an enum as its value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return to_wire(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): to_wire(item) for key, item in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return [to_wire(item) for item in value]
    raise TypeError(f"cannot send a {type(value).__name__}")


def from_wire(hint: Any, value: Any, *, strict: bool = False) -> Any:
    """Return the JSON ``value`` as the type ``hint`` names (the inverse of ``to_wire``).

    ``strict``: a request's argument, checked (TypeError names what was expected); an answer
    from the daemon is taken as it comes.
    """
    origin = typing.get_origin(hint)
    if hint is Any or hint is object:
        return value
    if origin in (Union, types.UnionType):
        options = [arm for arm in typing.get_args(hint) if arm is not type(None)]
        if value is None:
            if strict and len(options) == len(typing.get_args(hint)):
                raise TypeError("must not be null")
            return None
        for arm in options:
            try:
                return from_wire(arm, value, strict=True)
            except (TypeError, ValueError):
                continue
        raise TypeError(f"expected {hint}")
    if origin is not None:
        args = typing.get_args(hint)
        if origin in (dict, Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping)):
            _expect(value, dict, hint)
            inner = args[1] if len(args) == 2 else Any
            return {key: from_wire(inner, item, strict=strict) for key, item in value.items()}
        if origin is tuple:
            _expect(value, list, hint)
            inner = args[0] if args else Any
            return tuple(from_wire(inner, item, strict=strict) for item in value)
        _expect(value, list, hint)
        inner = args[0] if args else Any
        return [from_wire(inner, item, strict=strict) for item in value]
    if hint is type(None):
        return None
    if not strict and (value is None or isinstance(value, bool | int | float)):
        # an answer's number, flag or null as the daemon sent it (a float's whole number too)
        whole = isinstance(hint, type) and issubclass(hint, float) and type(value) is int
        return float(typing.cast(int, value)) if whole else value
    if isinstance(hint, type):
        if issubclass(hint, bool):
            return _expect(value, bool, hint)
        if issubclass(hint, enum.Enum):
            return hint(value)
        if issubclass(hint, int):
            if isinstance(value, bool):
                raise TypeError("expected an integer")
            return _expect(value, int, hint)
        if issubclass(hint, float):
            if isinstance(value, bool):
                raise TypeError("expected a number")
            return float(_expect(value, int | float, hint))
        if issubclass(hint, str):
            return _expect(value, str, hint)
        if issubclass(hint, Path):
            return Path(_expect(value, str, hint))
        if issubclass(hint, datetime):
            moment = datetime.fromisoformat(_expect(value, str, hint))
            if strict and moment.tzinfo is None:
                raise ValueError("a time needs its UTC offset (2026-12-31T23:59:59+00:00)")
            return moment
        if issubclass(hint, date):
            return date.fromisoformat(_expect(value, str, hint))
        if dataclasses.is_dataclass(hint):
            hints = typing.get_type_hints(hint)
            fields = {f.name for f in dataclasses.fields(hint) if f.init}
            given = _expect(value, dict, hint)
            unknown = sorted(set(given) - fields)
            if strict and unknown:
                raise TypeError(f"{hint.__name__} has no field {unknown[0]!r}")
            return hint(
                **{
                    name: from_wire(hints.get(name, Any), item, strict=strict)
                    for name, item in given.items()
                    if name in fields
                }
            )
        if strict:
            raise TypeError(f"{hint.__name__} is not taken from a request")
        from pydantic import BaseModel

        if issubclass(hint, BaseModel):
            return hint.model_validate(value)
    return value


def _expect(value: Any, kind: Any, hint: Any) -> Any:
    if not isinstance(value, kind):
        raise TypeError(f"expected {getattr(hint, '__name__', hint)}, got {type(value).__name__}")
    return value


# --- where the socket is ------------------------------------------------------------------------


def socket_path(settings: Settings, *, serving: bool = False) -> Path:
    """The daemon's socket: ``daemon.socket`` when set; else, for the daemon
    (``serving``), ``$RUNTIME_DIRECTORY/api.sock`` under systemd, its state directory's
    ``api.sock`` otherwise; for a client, the system unit's ``/run/provenance/api.sock`` when
    that exists, else the state directory's."""
    if settings.daemon.socket:
        return Path(settings.daemon.socket).expanduser()
    if serving:
        runtime = os.environ.get(RUNTIME_ENV, "").split(":")[0]
        return (Path(runtime) if runtime else settings.state_path) / SOCKET_NAME
    system = SYSTEM_RUNTIME_DIR / SOCKET_NAME
    return system if _is_socket(system) else settings.state_path / SOCKET_NAME


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def daemon_for(settings: Settings, *, forced: bool) -> Remote | None:
    """The daemon to send the served actions to: with ``forced`` (``--via-daemon``), its
    socket or DaemonError; else its socket when this user cannot open the catalog (a SQLite
    file private to the service's account) and one is there, None when they can (their own
    catalog). DaemonError when neither the catalog nor a socket can be reached."""
    path = socket_path(settings)
    found = Remote.reachable(path, service_accounts(settings))
    if forced:
        if found is None:
            raise DaemonError(f"--via-daemon: no daemon socket at {path}")
        return found
    catalog = _sqlite_file(settings.catalog_url)
    if catalog is None or _can_open(catalog):
        return None
    if found is None:
        raise DaemonError(
            f"cannot open the catalog {catalog} (it belongs to another account) and no daemon "
            f"serves it at {path} (is the daemon running? set daemon.socket if it listens "
            "elsewhere)"
        )
    return found


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    name = url.split("///", 1)[1].split("?", 1)[0]
    return Path(name).expanduser() if name and name != ":memory:" else None


def _can_open(catalog: Path) -> bool:
    """Whether this user may read and write the catalog file (or make it: a new catalog)."""
    try:
        os.stat(catalog)
    except FileNotFoundError:
        folder = next((p for p in catalog.parents if os.path.lexists(p)), catalog.anchor)
        return os.access(folder, os.W_OK | os.X_OK)
    except OSError:
        return False
    return os.access(catalog, os.R_OK | os.W_OK)


def service_accounts(settings: Settings) -> frozenset[int]:
    """The uids a daemon may run as, for a client: root; ``daemon.user`` when the config file
    naming it is root's or this user's own and writable by no one else; and the owner of the
    state directory (the service's, or this user's for their own daemon). Never merely
    whoever owns the socket file."""
    import pwd

    from provenance.access.roles import is_trusted_file

    accounts = {0}
    if settings.daemon.user and is_trusted_file(Path(settings.source), {0, os.getuid()}):
        with contextlib.suppress(KeyError):
            accounts.add(pwd.getpwnam(settings.daemon.user).pw_uid)
    with contextlib.suppress(OSError):
        info = os.lstat(settings.state_path)
        if stat.S_ISDIR(info.st_mode):
            accounts.add(info.st_uid)
    return frozenset(accounts)


def check_socket_folders(path: Path, accounts: frozenset[int]) -> None:
    """Check that nobody but ``accounts`` (root, the service's account) could have put the
    socket at ``path``: every folder from ``/`` down to it belongs to one of them, none is
    writable by group or others but a sticky one on the way (``/tmp``: nobody else may
    rename what is in it), a symbolic link on the way is followed only when one of them owns
    it, and the socket is theirs too. DaemonError names the first that is not; OSError when
    one cannot be looked at."""
    done: list[str] = []
    todo = list(Path(os.path.abspath(path.parent)).parts[1:])
    links = 0
    while True:
        here = "/" + "/".join(done)
        info = os.lstat(here)
        if stat.S_ISLNK(info.st_mode):
            if info.st_uid not in accounts or links >= 40:
                raise DaemonError(
                    f"the daemon's socket {path} is reached through {here}, a symbolic link "
                    f"of {_user(info.st_uid)}: not the daemon's; nothing sent"
                )
            links += 1
            target = os.path.normpath(Path("/" + "/".join(done[:-1])) / os.readlink(here))
            done, todo = [], list(Path(target).parts[1:]) + todo
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise DaemonError(f"the daemon's socket {path}: {here} is not a folder")
        last = not todo
        if info.st_uid not in accounts:
            raise DaemonError(
                f"the daemon's socket {path} is in {here}, which belongs to "
                f"{_user(info.st_uid)}, not root or the service's account: not the daemon's; "
                "nothing sent"
            )
        writable = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if writable and (last or not info.st_mode & stat.S_ISVTX):
            raise DaemonError(
                f"the daemon's socket {path} is in {here}, which others may write to "
                f"(mode {stat.S_IMODE(info.st_mode):04o}): not the daemon's for sure; "
                "nothing sent"
            )
        if last:
            break
        done.append(todo.pop(0))
    owner = os.lstat(path).st_uid
    if owner not in accounts:
        raise DaemonError(
            f"the socket {path} belongs to {_user(owner)}, not root or the service's account: "
            "not the daemon; nothing sent"
        )


# --- the client --------------------------------------------------------------------------------


def peer_credentials(connection: socket.socket) -> tuple[int, int, int]:
    """The pid, uid and gid the kernel recorded for the other end of a Unix socket (the
    connecting process for a server, the listening one for a client)."""
    raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, UCRED.size)
    pid, uid, gid = UCRED.unpack(raw)
    return pid, uid, gid


class Remote:
    """A daemon's socket, asked one request per connection.

    Only a daemon of ``accounts`` (root, the service's account: ``service_accounts``) is
    asked: the socket's folders must be such that nobody else could have put it there
    (``check_socket_folders``), and the process listening must run as one of them (the
    kernel's peer credentials). Anything else is refused before the request is sent."""

    def __init__(
        self, path: Path, accounts: frozenset[int] = frozenset({0}), timeout: float = 600.0
    ) -> None:
        self.path = path
        self.accounts = accounts
        self.timeout = timeout
        self._next = 0

    @classmethod
    def reachable(cls, path: Path, accounts: frozenset[int] = frozenset({0})) -> Remote | None:
        """A client of the socket at ``path`` when one is there (not a link), else None."""
        return cls(path, accounts) if _is_socket(path) else None

    def call(
        self,
        verb: str,
        args: Mapping[str, Any],
        returns: Any = Any,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Any:
        """Ask the daemon to run ``verb``; return its result as ``returns`` names (an iterator
        of items for an ``Iterator[...]``). ``on_progress`` hears a long action's progress
        lines. Raises DaemonError with the daemon's message."""
        self._next += 1
        request = {"v": VERSION, "id": self._next, "verb": verb, "args": dict(args)}
        connection = self._connect()
        try:
            reader = connection.makefile("rb")
            connection.sendall(json.dumps(request).encode() + b"\n")
            first = self._answer(reader, verb)
            while "progress" in first:
                if on_progress is not None:
                    on_progress(from_wire(Progress, first["progress"]))
                first = self._answer(reader, verb)
        except BaseException:
            connection.close()
            raise
        if "item" not in first and "end" not in first:
            connection.close()
            return from_wire(returns, first.get("result"))
        inner = typing.get_args(returns)[0] if typing.get_args(returns) else Any
        return self._items(connection, reader, verb, first, inner)

    def _items(
        self, connection: socket.socket, reader: Any, verb: str, first: dict[str, Any], inner: Any
    ) -> Iterator[Any]:
        try:
            answer = first
            while "end" not in answer:
                yield from_wire(inner, answer.get("item"))
                answer = self._answer(reader, verb)
        finally:
            connection.close()

    def _connect(self) -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        try:
            check_socket_folders(self.path, self.accounts)
            # through the folder's descriptor: a path longer than a socket address holds works
            folder = os.open(self.path.parent, os.O_PATH | os.O_DIRECTORY)
            try:
                connection.connect(f"/proc/self/fd/{folder}/{self.path.name}")
                _, server, _ = peer_credentials(connection)
            finally:
                os.close(folder)
        except OSError as exc:
            connection.close()
            raise DaemonError(
                f"cannot reach the daemon at {self.path}: {exc.strerror or exc}"
            ) from None
        except DaemonError:
            connection.close()
            raise
        if server not in self.accounts:
            connection.close()
            expected = " or ".join(_user(uid) for uid in sorted(self.accounts))
            raise DaemonError(
                f"the socket {self.path} is served by {_user(server)}, not by {expected}: "
                "not the daemon; nothing sent"
            )
        return connection

    def _answer(self, reader: Any, verb: str) -> dict[str, Any]:
        try:
            line = reader.readline(MAX_ANSWER + 1)
        except OSError as exc:
            raise DaemonError(f"the daemon did not answer {verb}: {exc}") from None
        if not line.endswith(b"\n"):
            raise DaemonError(f"the daemon's answer to {verb} was cut short")
        try:
            answer = json.loads(line)
        except ValueError:
            raise DaemonError(f"the daemon's answer to {verb} is not JSON") from None
        if not isinstance(answer, dict) or answer.get("v") != VERSION:
            raise DaemonError(f"the daemon speaks another version of the protocol than {VERSION}")
        if "error" in answer:
            raise DaemonError(str(answer["error"]))
        return answer


def _user(uid: int) -> str:
    import pwd

    try:
        return f"user {pwd.getpwuid(uid).pw_name!r} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


__all__ = [
    "HEARTBEAT",
    "LONG",
    "MAX_REQUEST",
    "PROGRESS",
    "VERBS",
    "VERSION",
    "DaemonError",
    "Progress",
    "Remote",
    "arguments",
    "check_socket_folders",
    "from_wire",
    "load_verbs",
    "peer_credentials",
    "served",
    "service_accounts",
    "socket_path",
    "to_wire",
]
