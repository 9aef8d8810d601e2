"""Settings of ``[web]``: the review queue the daemon serves over HTTP (``provenance.web``).

Plain values only: nothing here imports the web libraries, which load only when the queue
is enabled.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from provenance.config.jobs import parse_duration


class WebSettings(BaseModel):
    """The web review queue: off by default; on localhost unless ``bind`` says otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Serve the review queue (and /metrics) from the daemon.
    enabled: bool = False
    #: The address it listens on; "127.0.0.1" is this machine only.
    bind: str = "127.0.0.1"
    #: The TCP port (0: any free port, said in the log).
    port: int = Field(default=8750, ge=0, le=65535)
    #: "pam": a login form checked against the OS accounts through PAM; "header": the user
    #: name a reverse proxy with single sign-on puts in ``trusted_header``.
    auth: Literal["pam", "header"] = "pam"
    #: The PAM service (a file in /etc/pam.d) a login is checked against.
    pam_service: str = Field(default="login", min_length=1)
    #: The request header holding the user name the proxy authenticated (auth = "header").
    trusted_header: str = "X-Remote-User"
    #: The addresses of the reverse proxies allowed to set ``trusted_header``; a request
    #: from any other address carrying it is refused.
    trusted_proxies: list[str] = Field(default_factory=list)
    #: How long a session lasts after its login (a duration: "8h", "30m").
    session_lifetime: str = "8h"
    #: Mark the session cookie Secure (sent over HTTPS only): set it behind a TLS proxy.
    secure_cookie: bool = False
    #: Files per queue page.
    page_size: int = Field(default=100, ge=10, le=1000)
    #: Addresses that may read /metrics without a login (a Prometheus scrape on this
    #: machine); any other needs a session with the viewer role.
    metrics_scrapers: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    @field_validator("trusted_proxies", "metrics_scrapers")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"not an IP address: {value!r}") from None
        return values

    @field_validator("session_lifetime")
    @classmethod
    def _lifetime(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("trusted_header")
    @classmethod
    def _header(cls, value: str) -> str:
        if not value or not all(c.isalnum() or c == "-" for c in value):
            raise ValueError("must be a header name (letters, digits and dashes)")
        return value

    @model_validator(mode="after")
    def _proxies_for_header(self) -> WebSettings:
        if self.enabled and self.auth == "header" and not self.trusted_proxies:
            raise ValueError('auth = "header" needs trusted_proxies (the proxies\' addresses)')
        return self

    @property
    def session_seconds(self) -> int:
        return int(parse_duration(self.session_lifetime).total_seconds())
