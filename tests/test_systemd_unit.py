"""The printed unit under a real systemd: a service account, StateDirectory, notify, reload,
watchdog and stop, with every hardening directive of the unit in force.

The test boots systemd as PID 1 of namespaces of its own (PID, mount, UTS, IPC, network,
cgroup), as a container manager would: a private /run, /dev and cgroup2 tree, a copy of /etc,
an empty /var, /proc/sys and /sys read-only, and a capability bounding set without the
clock, modules or raw I/O. systemd finds only the units
the test writes (``$SYSTEMD_UNIT_PATH``): stub targets, journald and the printed unit, for a
root in the namespaces' own /mnt (outside /tmp: the unit has a /tmp of its own). Nothing
of the host is started, written or changed but the account the test makes; ending the
namespaces' PID 1 ends every process in them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import provenance
from provenance.catalog import Catalog
from provenance.daemon.systemd import Unit, unit_file
from tests.media import write_a1111_png
from tests.needs import unavailable
from tests.osusers import OsAccounts, accounts
from tests.watch.conftest import wait_for

__all__ = ["accounts"]

#: The watchdog timeout the test gives the unit (a drop-in): the printed 60 s would make the
#: test wait two minutes to see it kept alive.
WATCHDOG = 5

#: Run by the namespaces' first process before it becomes systemd. $1: the test's folder.
_SETUP = r"""
set -eu
B=$1
# let go of the other mounts copied into this namespace (they would stay busy while it lives)
findmnt -rn -o TARGET | sort -r | while read -r target; do
  case $target in /|/proc|/proc/*|/sys|/dev|/dev/*) ;; *) umount -l "$target" || true ;; esac
done
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
# the roots: a folder outside /tmp (the unit gets a /tmp of its own), in these namespaces only
mount -t tmpfs -o mode=0755 tmpfs /mnt
mkdir -p /run/systemd/system /run/provenance-test/none
cp -R "$B/units/." /run/systemd/system/
# /etc: a copy, so that what systemd writes there (ConfigurationDirectory=) stays in it, and
# the journal of this boot stays in its /run (a file that goes while it is copied is no loss)
cp -a /etc "$B/etc" 2>/dev/null || true
mkdir -p "$B/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' > "$B/etc/systemd/journald.conf.d/volatile.conf"
mount --bind "$B/etc" /etc
# /var: its usual folders, empty (StateDirectory= makes /var/lib/provenance)
mount -t tmpfs -o mode=0755 tmpfs /var
mkdir /var/lib /var/cache /var/log /var/spool /var/tmp
chmod 1777 /var/tmp
ln -s /run /var/run
ln -s /run/lock /var/lock
# folders other accounts may not pass (a pyenv under root's home): passable here only
. "$B/passable.sh"
for path in /proc/sys /proc/sysrq-trigger /sys; do
  if [ -e "$path" ]; then
    mount --bind "$path" "$path"
    mount -o remount,bind,ro "$path"
  fi
done
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
D=$B/dev
mount -t tmpfs -o mode=0755,nosuid tmpfs "$D"
for node in null zero full random urandom tty; do
  touch "$D/$node"
  mount --bind "/dev/$node" "$D/$node"
done
mkdir "$D/pts" "$D/shm" "$D/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$D/pts"
ln -s pts/ptmx "$D/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$D/shm"
mount -t mqueue -o nosuid,nodev,noexec mqueue "$D/mqueue"
ln -s /proc/self/fd "$D/fd"
ln -s /proc/self/fd/0 "$D/stdin"
ln -s /proc/self/fd/1 "$D/stdout"
ln -s /proc/self/fd/2 "$D/stderr"
mount --move "$D" /dev
CAPS=-all,+chown,+dac_override,+dac_read_search,+fowner,+fsetid,+kill,+setgid,+setuid
CAPS=$CAPS,+setpcap,+net_bind_service,+ipc_owner,+ipc_lock,+sys_chroot,+sys_ptrace,+sys_admin
CAPS=$CAPS,+sys_boot,+sys_nice,+sys_resource,+mknod,+lease,+setfcap,+audit_write
exec setpriv --bounding-set="$CAPS" -- env -i container=provenance-test \
  SYSTEMD_UNIT_PATH=/run/systemd/system \
  SYSTEMD_GENERATOR_PATH=/run/provenance-test/none \
  SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/provenance-test/none \
  "$2" --system --unit=provenance-test.target --log-target=journal --show-status=no
"""

#: What the unit's default dependencies and the printed [Unit] section name, as targets
#: that pull nothing in.
_STUBS = [
    "sysinit.target",
    "basic.target",
    "sockets.target",
    "shutdown.target",
    "network.target",
    "network-online.target",
    "remote-fs.target",
    "system.slice",
]
_JOURNALD = [
    "systemd-journald.service",
    "systemd-journald.socket",
    "systemd-journald-dev-log.socket",
]


def _first(paths: list[str]) -> Path | None:
    return next((Path(p) for p in paths if Path(p).exists()), None)


def _cgroup2() -> Path | None:
    """The folder of this process in the cgroup2 hierarchy (hybrid or unified), or None."""
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    points = [line.split()[4] for line in mounts if line.split(" - ")[1].startswith("cgroup2 ")]
    own = next(
        (
            line[3:]
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if line[:3] == "0::"
        ),
        None,
    )
    if not points or own is None:
        return None
    return Path(points[0]) / own.lstrip("/")


def _passable(reads: list[Path], base: Path) -> str:
    """Shell commands that let other accounts reach ``reads`` in a mount namespace: each
    folder above them that is not open to them (outermost first) is covered by an empty one
    they may pass, holding binds of what ``reads`` need from the original.

    Not open: they may not list or not pass it. A folder they may pass but not list (0701)
    is covered too: other tests open root's home that way for a while, then close it again.
    """
    others = stat.S_IROTH | stat.S_IXOTH
    closed: list[Path] = []
    for path in reads:
        for folder in reversed([path, *path.parents]):
            if folder.stat().st_mode & others != others and folder not in closed:
                closed.append(folder)
    commands = []
    for i, folder in enumerate(closed):
        hidden = base / f"hidden{i}"
        hidden.mkdir()
        needed = {p.relative_to(folder).parts[0] for p in reads if p.is_relative_to(folder)}
        if folder in reads:
            needed = set(os.listdir(folder))
        mode = stat.S_IMODE(folder.stat().st_mode) | 0o111
        commands += [
            f"mount --bind {shlex.quote(str(folder))} {shlex.quote(str(hidden))}",
            f"mount -t tmpfs -o mode={mode:o} tmpfs {shlex.quote(str(folder))}",
        ]
        for name in sorted(needed):
            inner = shlex.quote(str(folder / name))
            commands += [
                f"{'mkdir' if (folder / name).is_dir() else 'touch'} {inner}",
                f"mount --bind {shlex.quote(str(hidden / name))} {inner}",
            ]
        commands.append(f"umount {shlex.quote(str(hidden))}")
    return "".join(f"{command}\n" for command in commands)


class Machine:
    """systemd as PID 1 of private namespaces, with the test's units; ``run`` runs a command
    in its namespaces (systemctl speaks to it there), ``root`` is its view of the files."""

    def __init__(self, systemd: Path, base: Path, units: dict[str, str], reads: list[Path]):
        self.base = base
        for name in ["units", "dev"]:
            (base / name).mkdir()
        shipped = systemd.parent / "system"
        written = {name: "[Unit]\nDefaultDependencies=no\n" for name in _STUBS}
        written["provenance-test.target"] = (
            "[Unit]\nDefaultDependencies=no\nWants=systemd-journald.service\n"
        )
        written |= {name: (shipped / name).read_text() for name in _JOURNALD}
        for name, text in (written | units).items():
            (base / "units" / name).parent.mkdir(parents=True, exist_ok=True)
            (base / "units" / name).write_text(text)
        (base / "passable.sh").write_text(_passable(reads, base))
        (base / "setup.sh").write_text(_SETUP)
        cgroup2 = _cgroup2()
        assert cgroup2 is not None
        self.cgroup = cgroup2 / f"provenance-test-{uuid.uuid4().hex[:10]}"
        self.cgroup.mkdir()
        self.log = base / "boot.log"
        with open(self.log, "wb") as log:
            # the first process moves into the test's cgroup, then makes the namespaces
            self.process = subprocess.Popen(
                [
                    *["bash", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.cgroup)],
                    *["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--mount"],
                    *["--propagation", "private", "--uts", "--ipc", "--net", "--cgroup"],
                    *["bash", str(base / "setup.sh"), str(base), str(systemd)],
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.pid = wait_for(self._init_pid, 10, "the namespaces' first process")

    def _init_pid(self) -> int | None:
        if self.process.poll() is not None:
            raise AssertionError(f"the namespaces ended at once: {self.log.read_text()}")
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found = children.read_text().split()
        return int(found[0]) if found else None

    @property
    def root(self) -> Path:
        return Path(f"/proc/{self.pid}/root")

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *["nsenter", f"--target={self.pid}", "--mount", "--uts", "--ipc", "--net"],
                *["--pid", "--cgroup", "--", *argv],
            ],
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "SYSTEMD_COLORS": "0"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def boot(self) -> None:
        def running() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"systemd ended: {self.log.read_text()}")
            state = self.run("systemctl", "is-system-running").stdout.strip()
            return state == "running"

        wait_for(running, 30, "systemd to boot")

    def show(self, unit: str, *names: str) -> dict[str, str]:
        shown = self.run("systemctl", "show", unit, "--property=" + ",".join(names))
        return dict(line.split("=", 1) for line in shown.stdout.splitlines())

    def close(self) -> None:
        """End every process of the namespaces (their PID 1 first) and remove the cgroups."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

        def removed() -> bool:
            with contextlib.suppress(OSError):
                (self.cgroup / "cgroup.kill").write_text("1")
            folders = [p for p in self.cgroup.rglob("*") if p.is_dir()]
            for folder in [*sorted(folders, key=lambda p: len(p.parts), reverse=True), self.cgroup]:
                with contextlib.suppress(OSError):  # busy until its last process has gone
                    folder.rmdir()
            return not self.cgroup.exists()

        wait_for(removed, 15, "the namespaces' processes to end and their cgroups to go")


@contextlib.contextmanager
def _machine(base: Path, units: dict[str, str], reads: list[Path]) -> Iterator[Machine]:
    if os.geteuid() != 0:
        unavailable("booting systemd in namespaces of its own needs root (CI runs as root)")
    systemd = _first(["/lib/systemd/systemd", "/usr/lib/systemd/systemd"])
    if systemd is None or not (systemd.parent / "system" / _JOURNALD[0]).exists():
        unavailable("systemd is not installed (apt-get install systemd)")
    missing = [
        p for p in ["unshare", "nsenter", "setpriv", "findmnt", "systemctl"] if not shutil.which(p)
    ]
    if missing:
        unavailable(f"{', '.join(missing)} not installed (apt-get install util-linux systemd)")
    if _cgroup2() is None:
        unavailable("no cgroup2 hierarchy is mounted (systemd needs one for its services)")
    machine = Machine(systemd, base, units, reads)
    try:
        machine.boot()
        yield machine
    finally:
        machine.close()


def _print_unit(root: Path, user: str, home: Path) -> str:
    """``provenance daemon ROOT --print-unit`` as an administrator runs it: no config file."""
    home.mkdir()
    printed = subprocess.run(
        [sys.executable, "-m", "provenance", "daemon", str(root), "--print-unit", "--user", user],
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return printed.stdout


def _status_file(machine: Machine) -> dict[str, Any]:
    try:
        return json.loads((machine.root / "var/lib/provenance/daemon-status.json").read_text())
    except (OSError, ValueError):
        return {}


def test_the_printed_unit_runs_under_systemd_as_a_service_account(accounts: OsAccounts) -> None:
    account = accounts.user()
    base = accounts.shared
    root = Path("/mnt/show a")  # made in the namespaces' /mnt
    unit = _print_unit(root, account.name, base / "home")
    assert "PrivateTmp=yes" in unit
    units = {
        "provenance.service": unit,
        "provenance.service.d/watchdog.conf": f"[Service]\nWatchdogSec={WATCHDOG}\n",
    }
    # the program the unit runs: the account passes the folders above it in the namespaces
    program = Path(unit.split("ExecStart=", 1)[1].split()[0])
    reads = [program.parent, program.resolve().parent, Path(sys.prefix), Path(sys.base_prefix)]
    reads.append(Path(provenance.__file__).parent)
    started = time.monotonic()
    with _machine(base, units, [p.resolve() for p in reads]) as machine:
        service = "provenance.service"
        seen = machine.root / root.relative_to("/")  # the root as this process reaches it
        seen.mkdir()
        os.chown(seen, account.uid, account.gid)
        write_a1111_png(seen / "before.png")  # found by the start-up scan

        def status() -> str:
            shown = machine.run("systemctl", "status", "--no-pager", "--lines=0", service).stdout
            log = machine.run("journalctl", "--no-pager", "--lines=60", f"--unit={service}")
            return f"{shown}\n{log.stdout}"

        # Type=notify: start returns once the daemon sent READY=1
        start = machine.run("systemctl", "start", service)
        assert start.returncode == 0, start.stderr + status()
        shown = machine.show(service, "ActiveState", "SubState", "MainPID", "WatchdogUSec")
        assert shown["ActiveState"] == "active" and shown["SubState"] == "running", status()
        assert shown["WatchdogUSec"] == f"{WATCHDOG}s"
        main_pid = shown["MainPID"]

        # every process of the service runs as the account, sandboxed as the unit says
        procs = machine.cgroup / "system.slice" / service / "cgroup.procs"
        pids = procs.read_text().split()
        assert pids
        for pid in pids:
            facts = dict(
                line.split(":\t", 1)
                for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            )
            assert facts["Uid"].split() == [str(account.uid)] * 4, facts["Uid"]
            assert facts["Gid"].split() == [str(account.gid)] * 4, facts["Gid"]
            assert facts["NoNewPrivs"] == "1" and facts["Seccomp"] == "2", facts
            assert int(facts["CapBnd"], 16) == 0 and int(facts["CapEff"], 16) == 0, facts
            assert facts["Umask"] == "0077"
        mounts = Path(f"/proc/{pids[0]}/mountinfo").read_text().splitlines()
        options = {line.split()[4]: line.split()[5].split(",") for line in mounts}
        assert "ro" in options["/"] and "ro" in options["/etc"], "ProtectSystem=strict"
        assert "rw" in options["/tmp"], "PrivateTmp=yes"
        assert "rw" in options["/var/lib/provenance"], "StateDirectory="
        proc = next(line for line in mounts if line.split()[4] == "/proc")
        assert "hidepid=invisible" in proc.split(" - ")[1], "ProtectProc=invisible"
        for kind in ["mnt", "uts"]:  # PrivateMounts= (and the rest), ProtectHostname=
            ours = os.readlink(f"/proc/{pids[0]}/ns/{kind}")
            assert ours != os.readlink(f"/proc/{machine.pid}/ns/{kind}"), kind

        # a file dropped in the root after the start-up scan is read and tagged
        def caught_up() -> bool:
            roots = _status_file(machine).get("roots") or []
            log = machine.run("journalctl", "--output=cat", f"--unit={service}").stdout
            return bool(roots) and all(r["hears"] for r in roots) and "scan done" in log

        wait_for(caught_up, 60, "the start-up scan, and the root to prove it hears")
        write_a1111_png(seen / "dropped.png")
        wait_for((seen / "dropped.png.xmp").exists, 15, "the dropped file's sidecar")

        # reload: the daemon's RELOADING=1 holds the unit in "reloading" until its READY=1
        # (systemctl returns once ExecReload= has run), and the same process goes on
        reload = machine.run("systemctl", "reload", service)
        assert reload.returncode == 0, reload.stderr + status()
        wait_for(
            lambda: (
                machine.show(service, "ActiveState", "SubState", "MainPID")
                == {"ActiveState": "active", "SubState": "running", "MainPID": main_pid}
            ),
            15,
            "the unit to be running again after the reload",
        )

        # the watchdog's pings keep it alive past twice its timeout
        pinged = int(
            machine.show(service, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]
        )
        time.sleep(2 * WATCHDOG + 1)
        shown = machine.show(
            service, "ActiveState", "MainPID", "NRestarts", "WatchdogTimestampMonotonic"
        )
        assert shown["ActiveState"] == "active" and shown["MainPID"] == main_pid, status()
        assert shown["NRestarts"] == "0"
        assert int(shown["WatchdogTimestampMonotonic"]) > pinged

        # stop: SIGTERM, a clean exit, nothing left running
        stop = machine.run("systemctl", "stop", service)
        assert stop.returncode == 0, stop.stderr
        shown = machine.show(service, "ActiveState", "Result", "ExecMainStatus")
        assert shown == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}
        assert not procs.exists() or not procs.read_text().strip()
        journal = machine.run("journalctl", "--no-pager", "--output=cat", f"--unit={service}")
        assert "Traceback" not in journal.stdout, journal.stdout

        # the state is in StateDirectory, the account's alone
        state = machine.root / "var/lib/provenance"
        made = list(state.rglob("*"))
        assert {"catalog.sqlite", "daemon.lock", "daemon-status.json"} <= {p.name for p in made}
        for path in [state, *made]:
            info = path.lstat()
            assert (info.st_uid, info.st_gid) == (account.uid, account.gid), path
            expected = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
            assert stat.S_IMODE(info.st_mode) == expected, (path, oct(info.st_mode))
        # the catalog records the file the scan found and the one dropped while it watched
        # (read from a copy: SQLite opens no path through /proc/PID/root)
        copy = base / "catalog"
        shutil.copytree(state, copy, ignore=shutil.ignore_patterns("locks"))
        catalog = Catalog.open(f"sqlite:///{copy / 'catalog.sqlite'}", state_dir=copy)
        try:
            with catalog.read() as tx:
                assets = [tx.asset_by_path(str(root / n)) for n in ["before.png", "dropped.png"]]
        finally:
            catalog.close()
        assert all(asset is not None and asset.ai_class == "ai" for asset in assets), assets
    assert time.monotonic() - started < 90


def test_a_unit_sharing_the_hosts_tmp_may_write_there() -> None:
    # the daemon's temporary files (worker start-up sockets, the walk's spill file) go there
    shared = unit_file(Unit(["/usr/bin/provenance"], writes=(Path("/tmp/show"),)))
    assert "PrivateTmp=no" in shared and "ReadWritePaths=-/tmp\n" in shared
    private = unit_file(Unit(["/usr/bin/provenance"], writes=(Path("/srv/show"),)))
    assert "PrivateTmp=yes" in private and "ReadWritePaths=-/tmp\n" not in private


def test_a_program_in_the_hosts_tmp_is_bound_into_a_private_one() -> None:
    venv = Path("/tmp/venv")
    unit = Unit([str(venv / "bin/provenance")], writes=(Path("/srv/show"),), reads=(venv,))
    text = unit_file(unit)
    assert "PrivateTmp=yes" in text and f"BindReadOnlyPaths=-{venv}\n" in text
    assert f"BindReadOnlyPaths=-{venv}/" not in text
    # a root in the host's /tmp keeps the host's /tmp: nothing to bind
    shared = Unit([str(venv / "bin/provenance")], writes=(Path("/tmp/show"),), reads=(venv,))
    assert "BindReadOnlyPaths" not in unit_file(shared)
