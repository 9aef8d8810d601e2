"""What a scan asks the catalog to tell a changed file from an unchanged one, without
loading assets: stat facts by path, streamed in the walk's order or for a batch of paths."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlmodel import Session, col

from provenance.catalog.chunks import in_chunks
from provenance.catalog.models import Asset
from provenance.lifecycle.states import Status


@dataclass(frozen=True)
class KnownFile:
    """What a re-scan needs to decide that a file is unchanged, without loading the asset."""

    id: int
    size: int
    mtime_ns: int
    inode: int
    present: bool
    #: and whether it is an AI asset whose tag belongs beside it
    ai_class: str = "none"
    status: str = Status.NOT_AI


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
        rows = (
            self.session.connection()
            .execution_options(stream_results=True, yield_per=2000)
            .execute(text(query), params)
        )
        for row in rows:
            yield row[0], KnownFile(row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7])

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
