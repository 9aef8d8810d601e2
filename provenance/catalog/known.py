"""What a scan asks the catalog to tell a changed file from an unchanged one, without
loading assets: stat facts by path, streamed in the walk's order or for a batch of paths."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select, text
from sqlmodel import Session, col

from provenance.catalog.chunks import in_chunks
from provenance.catalog.models import Asset
from provenance.lifecycle.states import Status


class KnownFile(NamedTuple):
    """What a re-scan needs to decide that a file is unchanged, without loading the asset
    (a tuple: a re-scan makes one per file the catalog knows under the root)."""

    id: int
    size: int
    mtime_ns: int
    inode: int
    present: bool
    #: and whether it is an AI asset whose tag belongs beside it
    ai_class: str = "none"
    status: str = Status.NOT_AI


@dataclass(frozen=True)
class Identity:
    """An asset's path, size, modification time and partial fingerprint (with its device and
    inode, what follows a file that has no content hash through a move)."""

    path: str
    size: int
    mtime_ns: int
    fingerprint: str | None


@dataclass(frozen=True)
class Unhashed:
    """A recorded file without a content hash, as recorded (hashed only if still so)."""

    id: int
    path: str
    size: int
    mtime_ns: int
    inode: int


#: Rows of known files fetched from SQLite's driver at a time.
KNOWN_ROWS = 2000


class KnownQueries:
    """The known-file queries of ``Tx`` (store.py), which has the session and dialect."""

    session: Session
    dialect: str

    def known_files_in_order(
        self, root: str, after: str | None = None, limit: int | None = None
    ) -> Iterator[tuple[str, KnownFile]]:
        """Yield (path, stat facts) of the assets under ``root`` in the code point order of
        their paths (the walk's order), only those after ``after`` and at most ``limit``.

        Rows are streamed, not loaded: a scan merges them with its walk (scan.py).
        """
        prefix = root.rstrip("/") + "/"
        op, start = (">", after) if after is not None else (">=", prefix)
        if self.dialect == "sqlite":
            # "+root": SQLite walks the path index in order from ``start`` (not the root
            # index and then a sort); its text order is code point order
            where = f"path {op} :start AND path < :stop AND +root = :root ORDER BY path"
        else:
            # byte order (for UTF-8, code point order), whatever the database's collation
            where = (
                f'root = :root AND path COLLATE "C" {op} :start AND path COLLATE "C" < :stop'
                ' ORDER BY path COLLATE "C"'
            )
        query = (
            "SELECT path, id, size, mtime_ns, inode, present, ai_class, status FROM assets"
            f" WHERE {where}" + (" LIMIT :limit" if limit else "")
        )
        # every path under the root starts with ``prefix``: it sorts before prefix[:-1] + "0"
        params = {"root": root, "start": start, "stop": prefix[:-1] + "0", "limit": limit}
        if self.dialect == "sqlite":
            # the driver's own cursor, a page of rows at a time: a re-scan takes every file
            # the catalog knows under the root, and a row through SQLAlchemy's result costs
            # twice what the driver's does (1,000,000 files: 3.5 s of CPU instead of 1.5 s)
            cursor = self.session.connection().connection.cursor()
            try:
                cursor.execute(query, params)
                while page := cursor.fetchmany(KNOWN_ROWS):
                    for row in page:
                        yield (
                            row[0],
                            KnownFile(row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7]),
                        )
            finally:
                cursor.close()
            return
        rows = (
            self.session.connection()
            .execution_options(stream_results=True, yield_per=2000)
            .execute(text(query), params)
        )
        for row in rows:
            yield row[0], KnownFile(row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7])

    def _known_values(
        self, column: str, values: Sequence[Any], where: str = ""
    ) -> Iterator[list[Any]]:
        """Yield, a chunk at a time, those of ``values`` that some asset's ``column`` holds
        (and that meet the SQL condition ``where``, if any).

        An ingest batch asks for 500 paths and hashes that are mostly new: an indexed probe
        straight to the driver answers that in a fraction of a millisecond, where an ORM query
        costs milliseconds to build, so only the values found are loaded as assets. (Pending
        changes are flushed first, as an ORM query would.)
        """
        self.session.flush()
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(
            self.session.connection().dialect.paramstyle
        )
        condition = f" AND ({where})" if where else ""
        for part in in_chunks(values):
            chunk = list(part)
            if mark is None or not chunk:
                if chunk and where:  # a driver of another style: asked through SQLAlchemy
                    query = text(
                        f"SELECT DISTINCT {column} FROM assets WHERE {column} IN :values{condition}"
                    ).bindparams(bindparam("values", expanding=True))
                    rows = self.session.connection().execute(query, {"values": chunk})
                    chunk = [row[0] for row in rows]
                if chunk:
                    yield chunk
                continue
            marks = ", ".join([mark] * len(chunk))
            rows = self.session.connection().exec_driver_sql(
                f"SELECT DISTINCT {column} FROM assets WHERE {column} IN ({marks}){condition}",
                tuple(chunk),
            )
            hits = [row[0] for row in rows]
            if hits:
                yield hits

    def ai_sizes_of(self, sizes: Sequence[int]) -> set[int]:
        """Return those of ``sizes`` that some AI asset has: a file of one of them may be a
        copy of it, and gets a content hash whatever it reads as. An indexed probe of the
        batch's sizes (ix_assets_ai_size), so its cost follows the batch, not the catalog:
        reading every AI size took 1-2 s on PostgreSQL at 10,000,000 assets."""
        found: set[int] = set()
        for hits in self._known_values("size", sizes, "ai_class != 'none'"):
            found.update(hits)
        return found

    def hashed_paths(self, paths: Sequence[str]) -> set[str]:
        """Return those of ``paths`` whose record's content hash must be taken again when the
        file is read again, whatever it reads as now: an AI asset's (a change of its bytes
        voids its clearance), or one with no partial fingerprint to compare instead (a
        record from before fingerprints)."""
        # an indexed probe by path, straight to the driver: a first scan asks this of every
        # file it reads (0.04 s a batch of 2,000 as an ORM query)
        found: set[str] = set()
        where = "content_hash IS NOT NULL AND (ai_class != 'none' OR fingerprint IS NULL)"
        for hits in self._known_values("path", paths, where):
            found.update(hits)
        return found

    def unhashed_of_sizes(self, sizes: Sequence[int]) -> list[Unhashed]:
        """Return the present files that are not AI and have no content hash, of one of
        ``sizes`` (those of AI assets just recorded: each may be a copy of one, read before
        its original), oldest first (ix_assets_unhashed_size)."""
        found: list[Unhashed] = []
        for chunk in in_chunks(sorted(set(sizes))):
            query = (
                select(
                    col(Asset.id),
                    col(Asset.path),
                    col(Asset.size),
                    col(Asset.mtime_ns),
                    col(Asset.inode),
                )
                .where(
                    col(Asset.size).in_(chunk),
                    col(Asset.content_hash).is_(None),
                    col(Asset.ai_class) == "none",
                    col(Asset.status) == Status.NOT_AI,
                    col(Asset.present),
                )
                .order_by(col(Asset.id))
            )
            found.extend(Unhashed(*row) for row in self.session.execute(query))
        return found

    def has_events(self, asset_id: int | None) -> bool:
        """Whether the asset has an audit event of its own (its state is on record)."""
        query = text("SELECT 1 FROM events WHERE asset_id = :id LIMIT 1")
        return self.session.connection().execute(query, {"id": asset_id}).first() is not None

    def identities(self, paths: Sequence[str]) -> dict[tuple[int, int], Identity]:
        """Return (device, inode) -> what else tells the file apart, of the assets at
        ``paths`` (files gone from there): a new file with the same identity and partial
        fingerprint is one of them, moved."""
        found: dict[tuple[int, int], Identity] = {}
        for chunk in in_chunks(paths):
            query = select(
                col(Asset.device),
                col(Asset.inode),
                col(Asset.path),
                col(Asset.size),
                col(Asset.mtime_ns),
                col(Asset.fingerprint),
            ).where(col(Asset.path).in_(chunk))
            for device, inode, *rest in self.session.execute(query):
                found[(device, inode)] = Identity(*rest)
        return found

    def known_paths(self, paths: Sequence[str]) -> dict[str, KnownFile]:
        """Return path -> stat facts of the assets at ``paths`` (those the catalog knows)."""
        found: dict[str, KnownFile] = {}
        for chunk in in_chunks(paths):
            query = select(
                col(Asset.path),
                col(Asset.id),
                col(Asset.size),
                col(Asset.mtime_ns),
                col(Asset.inode),
                col(Asset.present),
            ).where(col(Asset.path).in_(chunk))
            for row in self.session.execute(query):
                found[row[0]] = KnownFile(row[1], row[2], row[3], row[4], row[5])
        return found
