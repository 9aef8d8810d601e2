"""The report's pictures: which files of each folder group show one, and the report with them
(``Report.thumbnails``, by content hash), made by the thumbnailer (``files.thumbnails``) in
its reader workers, never here.

Only the HTML report shows them, in each production's and folder's line (``PER_GROUP`` at
most: its first files); the
JSON, CSV and Markdown reports carry none. One report embeds at most
``[thumbnails] report_max`` pictures and ``MOST_BYTES`` bytes of them, in the report's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from provenance.config import Settings
from provenance.files.readfile import ReadOptions
from provenance.files.thumbnails import Thumbnailer, Wanted
from provenance.report.data import Report
from provenance.report.groups import Group, productions
from provenance.report.items import Item

#: Pictures in one folder group's line, at most (its first files, soonest first).
PER_GROUP = 3
#: Bytes of pictures one report embeds, at most (as base64 they take a third more).
MOST_BYTES = 1024 * 1024
#: Sections whose files are pictured: those still on the disk under their name.
PICTURED_SECTIONS = ("expiring", "overdue", "attention", "voided", "cleared")


def thumbnailer_for(settings: Settings) -> Thumbnailer:
    """Return a thumbnailer with the settings' state folder, budgets and ffmpeg."""
    options = ReadOptions(
        seconds=settings.scan.read_seconds, memory_mb=settings.scan.read_memory_mb
    )
    return Thumbnailer(
        settings.state_path,
        options,
        ffmpeg=settings.thumbnails.ffmpeg,
        workers=settings.scan.workers,
    )


def pictured(group: Group) -> list[Item]:
    """Return the files of ``group`` that may show a picture: the first ``PER_GROUP`` with a
    content hash, in a section whose files are still where the report says."""
    if group.section not in PICTURED_SECTIONS:
        return []
    return [item for item in group.items if item.content_hash and item.root_path][:PER_GROUP]


def _wanted(report: Report) -> Iterator[Wanted]:
    """The pictures the HTML report shows, in its order: each production's line, then its
    folders' lines."""
    for section in report.sections:
        for whole, folders in productions(section.groups):
            for group in (whole, *folders):
                for item in pictured(group):
                    yield Wanted(item.root_path, item.path, item.content_hash)


def add_pictures(
    report: Report, settings: Settings, thumbnailer: Thumbnailer | None = None
) -> Report:
    """Return ``report`` with the pictures of its pictured files (at most ``report_max``),
    made by ``thumbnailer`` (one of its own, closed after, when None); ``report`` as it is
    when the settings want none."""
    most = settings.thumbnails.report_max if settings.thumbnails.enabled else 0
    if most <= 0:
        return report
    wanted: dict[str, Wanted] = {}
    for asked in _wanted(report):
        wanted.setdefault(asked.content_hash, asked)
        if len(wanted) >= most:
            break
    if not wanted:
        return report
    own = thumbnailer is None
    maker = thumbnailer_for(settings) if thumbnailer is None else thumbnailer
    try:
        made = maker.pictures(wanted.values())
    finally:
        if own:
            maker.close()
    kept: dict[str, bytes] = {}
    total = 0
    for content_hash in wanted:  # in the report's order, within MOST_BYTES
        data = made.get(content_hash)
        if data is None:
            continue
        if total + len(data) > MOST_BYTES:
            break
        kept[content_hash] = data
        total += len(data)
    return replace(report, thumbnails=kept)
