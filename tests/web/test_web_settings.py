"""The [web] settings: refused as a whole when they cannot work, one line per problem."""

from __future__ import annotations

import pytest

from provenance.config import settings_from_mapping
from provenance.errors import ConfigError


def test_the_header_without_proxies_is_refused() -> None:
    with pytest.raises(ConfigError, match="trusted_proxies"):
        settings_from_mapping({"web": {"enabled": True, "auth": "header"}})
    # off, the same table is only kept for later
    assert settings_from_mapping({"web": {"auth": "header"}}).web.auth == "header"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("trusted_proxies", ["proxy.example"]),
        ("metrics_scrapers", ["localhost"]),
        ("session_lifetime", "forever"),
        ("trusted_header", "X-User: admin"),
        ("port", 70000),
        ("auth", "ldap"),
    ],
)
def test_a_bad_value_names_its_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"web.{key}"):
        settings_from_mapping({"web": {key: value}})
