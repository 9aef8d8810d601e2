"""A review queue served for real: production folders scanned into a real catalog, real OS
users in real groups holding roles in the service's config, the web service on a real port,
and a small HTTP client that keeps its cookie and sends from a chosen loopback address."""

from __future__ import annotations

import http.client
import re
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from provenance.access.identity import Actor
from provenance.catalog import Catalog, utcnow
from provenance.config import load_settings
from provenance.daemon.metrics import RootMetrics, Snapshot
from provenance.ingest.scan import scan
from provenance.web import WebServer
from tests.media import write_a1111_png
from tests.osusers import OsAccounts, OsUser

#: A file name an artist could type: markup, quotes, an ampersand.
EVIL_NAME = "<script>alert('x')<\\script> \"quoted\" & 'single' <img src=x onerror=alert(1)>.png"


@dataclass
class Site:
    """The served queue and who uses it."""

    accounts: OsAccounts
    viewer: OsUser
    approver: OsUser
    custodian: OsUser
    root: Path
    config: Path
    catalog: Catalog
    server: WebServer
    tagger: OsUser

    @property
    def port(self) -> int:
        return self.server.port

    def client(self, source: str = "127.0.0.1") -> Client:
        return Client(self.port, source)

    def events(self, action: str) -> list[dict[str, object]]:
        with self.catalog.read() as tx:
            return [
                {"user": e.user, "reason": e.reason, "after": e.after, "path": e.path}
                for e in tx.all_events()
                if e.action == action
            ]

    def status_of(self, path: Path) -> str:
        with self.catalog.read() as tx:
            asset = tx.asset_by_path(str(path))
            assert asset is not None, path
            return asset.status


def set_password(user: OsUser, password: str) -> None:
    """Give a real OS user a password (chpasswd), as an administrator would."""
    subprocess.run(["chpasswd"], input=f"{user.name}:{password}", text=True, check=True)


def make_site(
    accounts: OsAccounts, tmp_path: Path, web: str, *, files_per_folder: int = 4
) -> Iterator[Site]:
    """Scan a production (two reels, three shots, an evil file name) and serve its queue with
    the ``[web]`` table ``web`` (TOML lines); yield the Site, stop the server after."""
    viewers, approvers = accounts.group(), accounts.group()
    viewer = accounts.user(groups=[viewers])
    approver = accounts.user(groups=[viewers, approvers])
    custodian = accounts.user(groups=[viewers])
    tagger = accounts.user(groups=[viewers])
    root = tmp_path / "show_a"
    for folder in ("reel_1/shot_010", "reel_1/shot_020", "reel_2/shot_100"):
        for index in range(files_per_folder):
            write_a1111_png(root / folder / f"frame_{index:04d}.png")
    write_a1111_png(root / "reel_2" / "shot_100" / EVIL_NAME)
    state = tmp_path / "state"
    config = tmp_path / "provenance.toml"
    config.write_text(
        f'state_dir = "{state}"\n'
        f'[[roots]]\npath = "{root}"\nname = "show_a"\nowner = "Dana <dana@example.com>"\n'
        f"[web]\nenabled = true\nport = 0\npage_size = 10\n{web}\n"
        f'[roles]\nviewer = {{ groups = ["{viewers}"] }}\n'
        f'custodian = {{ users = ["{custodian.name}"] }}\n'
        f'tagger = {{ users = ["{tagger.name}"] }}\n'
        f'approver = {{ groups = ["{approvers}"] }}\n'
    )
    config.chmod(0o644)
    settings = load_settings(config)
    catalog = Catalog.open(settings.catalog_url, settings.state_path)
    scan(settings, catalog, Actor.current(), utcnow())

    def snapshot() -> Snapshot:
        now = utcnow().timestamp()
        return Snapshot(
            at=now,
            started_at=now,
            queue=0,
            files_ingested=10,
            read_errors=0,
            events_lost=0,
            roots=(RootMetrics(str(root), True, True, 1.0, hears=True),),
        )

    server = WebServer(settings, catalog, utcnow, snapshot)
    server.start()
    try:
        yield Site(accounts, viewer, approver, custodian, root, config, catalog, server, tagger)
    finally:
        server.stop()
        catalog.close()


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    cookies: list[str]
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.body)
        assert found, self.body
        return found.group(1)

    def uids(self) -> list[str]:
        return re.findall(r'href="/asset/([0-9a-f-]{36})"', self.body)


@dataclass
class Client:
    """An HTTP client on one loopback source address that keeps the session cookie."""

    port: int
    source: str = "127.0.0.1"
    cookie: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=30, source_address=(self.source, 0)
        )
        sent = {**self.headers, **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            cookies = response.headers.get_all("set-cookie") or []
        finally:
            connection.close()
        for line in cookies:
            pair = line.split(";", 1)[0]
            self.cookie = "" if pair.endswith("=null") else pair
        found = {key.lower(): value for key, value in response.headers.items()}
        return Answer(response.status, found, cookies, text)

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(
        self, path: str, fields: list[tuple[str, str]] | dict[str, str], **headers: str
    ) -> Answer:
        return self.request("POST", path, urlencode(fields), headers=headers)

    def sign_in(self, user: OsUser, password: str) -> Answer:
        form = self.get("/login")
        return self.post(
            "/login",
            {"csrf": form.csrf(), "username": user.name, "password": password, "next": "/"},
        )


def unique_password() -> str:
    return f"Pw-{uuid.uuid4().hex[:12]}!"
