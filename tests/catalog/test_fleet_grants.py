"""PostgreSQL fleet: a node's own database role appends audit events but cannot update,
delete or truncate them (grants from provenance/data/postgres-grants.sql, on the real server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from importlib import resources

import pytest
import sqlalchemy
from sqlalchemy.exc import ProgrammingError

from provenance.catalog import Catalog
from tests.conftest import POSTGRES_ENV, postgres_url
from tests.needs import unavailable
from tests.retention.helpers import ACTOR, T0

pytestmark = pytest.mark.postgres


def grants_sql(schema: str, role: str) -> str:
    """The fleet's grants file with psql's variables filled in, as ``psql -v`` would."""
    text = resources.files("provenance").joinpath("data/postgres-grants.sql").read_text()
    return text.replace(':"schema"', f'"{schema}"').replace(':"node_role"', f'"{role}"')


@pytest.fixture
def node() -> Iterator[tuple[Catalog, sqlalchemy.Engine]]:
    """A catalog schema made by its owner, and the same catalog opened as a node's role."""
    url = postgres_url()
    if url is None:
        unavailable(f"PostgreSQL leg not selected: set {POSTGRES_ENV}; .ci/run always sets it")
    schema, role = f"t_{uuid.uuid4().hex[:12]}", f"pvnode_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(url)
    separator = "&" if "?" in url else "?"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        conn.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
    owner = Catalog.open(f"{url}{separator}options=-csearch_path%3D{schema}")
    with owner.write() as tx:
        tx.record(ACTOR, "indexed", T0, path="/prod/a.png", reason="by the owner")
    owner.close()
    with admin.begin() as conn:
        for statement in grants_sql(schema, role).split(";"):
            lines = [line for line in statement.splitlines() if not line.startswith("--")]
            if "".join(lines).strip():
                conn.exec_driver_sql("\n".join(lines))
    as_node = f"{url}{separator}options=-csearch_path%3D{schema}%20-crole%3D{role}"
    catalog = Catalog.open(as_node)
    engine = sqlalchemy.create_engine(as_node)
    try:
        yield catalog, engine
    finally:
        catalog.close()
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_a_node_role_appends_events(node: tuple[Catalog, sqlalchemy.Engine]) -> None:
    catalog, _engine = node
    with catalog.write() as tx:
        tx.record(ACTOR, "indexed", T0, path="/prod/b.png", reason="by a node")
    with catalog.read() as tx:
        assert [e.reason for e in tx.all_events()] == ["by the owner", "by a node"]
        assert (
            tx.session.execute(sqlalchemy.text("SELECT current_user"))
            .scalar_one()
            .startswith("pvnode_")
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET reason = 'nothing to see'",
        "DELETE FROM events",
        "DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)",
        "TRUNCATE events",
        "UPDATE provenance_meta SET value = '1'",
    ],
)
def test_a_node_role_cannot_rewrite_the_audit_trail(
    node: tuple[Catalog, sqlalchemy.Engine], statement: str
) -> None:
    _catalog, engine = node
    with pytest.raises(ProgrammingError, match="permission denied"), engine.begin() as conn:
        conn.exec_driver_sql(statement)
