"""PAM sign-in with the daemon run as its service account, not root: pam_unix checks the
password in /etc/shadow, which the account reads only in group shadow (the printed unit's
SupplementaryGroups=shadow); without it every sign-in is refused, and one log line says why."""

from __future__ import annotations

import contextlib
import grp
import os
import socket
import sys
import tempfile
from pathlib import Path

import pytest

from tests.media import write_a1111_png
from tests.osusers import OsAccounts, accounts
from tests.processes import start_as_service, stop_service
from tests.test_service import _enterable
from tests.watch.conftest import wait_for
from tests.web.site import Client, set_password, unique_password

__all__ = ["accounts"]

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("in_shadow", [True, False])
def test_pam_sign_in_as_the_service_account_needs_group_shadow(
    accounts: OsAccounts, in_shadow: bool
) -> None:
    service = accounts.user(system=True)
    person = accounts.user()
    password = unique_password()
    set_password(person, password)
    shadow = grp.getgrnam("shadow").gr_gid
    port = _free_port()
    with contextlib.ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="provenance-pam-")))
        base.chmod(0o755)
        state = base / "state"
        state.mkdir(mode=0o700)
        os.chown(state, service.uid, service.gid)
        root = base / "show_a"
        write_a1111_png(root / "shot" / "frame.png")
        for path in [root, *root.rglob("*")]:
            os.chown(path, service.uid, service.gid)
        config = base / "provenance.toml"  # root's, as /etc/provenance's is
        config.write_text(
            f'[[roots]]\npath = "{root}"\n'
            f'[web]\nenabled = true\nport = {port}\nauth = "pam"\n'
            '[roles]\nviewer = { users = ["*"] }\n'
        )
        config.chmod(0o644)
        program = [Path(sys.executable), Path(sys.executable).resolve(), Path(sys.prefix)]
        stack.enter_context(_enterable([*program, REPO]))
        log = base / "daemon.log"
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": "/nonexistent",
            "STATE_DIRECTORY": str(state),
            "PYTHONPATH": str(REPO),
        }
        process = start_as_service(
            [sys.executable, "-m", "provenance", "--config", str(config), "daemon"],
            env=env,
            uid=service.uid,
            gid=service.gid,
            log=log,
            groups=[shadow] if in_shadow else [],
        )
        stack.callback(stop_service, process)
        wait_for(
            lambda: "serving the review queue" in log.read_text() or process.poll() is not None,
            120,
            "the review queue",
        )
        assert process.poll() is None, log.read_text()
        client = Client(port, "127.0.0.1")
        signed = client.sign_in(person, password)
        text = log.read_text()
        said = [line for line in text.splitlines() if "group shadow" in line]
        if in_shadow:
            assert signed.status == 303, (signed.body, text)
            assert client.get("/").status == 200
            assert said == [], text
        else:
            assert signed.status == 401, text
            assert len(said) == 1, text
            assert f"this account ({service.name}) may not read /etc/shadow" in said[0]
        stop_service(process)
        assert "Traceback" not in log.read_text(), log.read_text()
