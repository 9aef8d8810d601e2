"""The daemon's Prometheus metrics, as a node-exporter textfile (``metrics.prom``) beside its
status file, and at ``/metrics`` of the web service when it runs (``provenance.web``).

The values are gathered by the daemon into a :class:`Snapshot` (the catalog's counts through
``service.metrics``, as ``provenance status`` reads them); :func:`write_metrics` turns
one into the text exposition format with prometheus_client (a registry of its own, never the
library's global one, ``generate_latest``) and replaces the file atomically through the
state folder's descriptor (``files.confined``: a temporary file in the same folder, renamed
over the old one, 0600; a link at its name is replaced, never written through), so
node-exporter never reads half a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from provenance.config.locations import PRIVATE_FILE_MODE, open_private_dir
from provenance.files.confined import open_folder

METRICS_NAME = "metrics.prom"
#: The mode of a metrics file outside the state folder: node-exporter reads it as itself.
SHARED_FILE_MODE = 0o644


@dataclass(frozen=True)
class RootMetrics:
    """What the metrics say of one root."""

    path: str
    watched: bool
    online: bool
    #: Seconds since its last scan finished, or None when it was never scanned.
    last_scan_age: float | None
    #: Whether its watcher proved it hears since it started (a canary, or the root's
    #: identity where no canary can be written); False while not proven or not watched.
    hears: bool = False
    #: Seconds since its watcher last heard a canary, or None when none was heard yet.
    last_canary_age: float | None = None


@dataclass(frozen=True)
class NotifyCounts:
    """One webhook's notices since the daemon started."""

    sent: int = 0
    failed: int = 0
    given_up: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The daemon's numbers at one moment (counters count since the daemon started)."""

    #: Unix time of this snapshot.
    at: float
    started_at: float
    queue: int
    #: Files recorded: new, modified, moved or copied.
    files_ingested: int
    #: Files that could not be read or recorded (skipped), and batches that failed.
    read_errors: int
    #: Times the kernel dropped filesystem events (the root was rescanned).
    events_lost: int
    roots: tuple[RootMetrics, ...] = ()
    #: Changes kept for the catalog, which could not take them yet (watch.backlog).
    backlog: int = 0
    #: AI assets by (root, status), from the catalog.
    ai_assets: Mapping[tuple[str, str], int] = field(default_factory=dict)
    #: Per webhook ([notify]): notices sent, sends that failed (tried again) and notices
    #: given up (refused for good), since the daemon started.
    notify: Mapping[str, NotifyCounts] = field(default_factory=dict)


def write_metrics(folder: Path, snapshot: Snapshot, *, shared: bool = False) -> Path:
    """Write ``snapshot`` to ``folder/metrics.prom`` atomically and return the path: a file
    of the service account's alone (0600), or ``shared`` (0644: node-exporter's textfile
    folder, which must exist; the daemon makes only its own state folder).

    Raises ProvenanceError (ConfinementError, WriteError) when it cannot be written."""
    data = exposition(snapshot)
    mode = SHARED_FILE_MODE if shared else PRIVATE_FILE_MODE
    with open_folder(folder) if shared else open_private_dir(folder) as opened:
        opened.write_bytes(METRICS_NAME, data, mode=mode, durable=False)
    return folder / METRICS_NAME


def exposition(snapshot: Snapshot) -> bytes:
    """Return ``snapshot`` in Prometheus' text exposition format (the file's content, and
    what the web service's ``/metrics`` answers)."""
    from prometheus_client import (
        CollectorRegistry,
        Counter,
        Gauge,
        disable_created_metrics,
        generate_latest,
    )

    # no `_created` sample beside each counter: the daemon's start time is a metric of its own
    disable_created_metrics()
    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(f"provenance_{name}", text, labels, registry=registry)

    gauge("metrics_updated_timestamp_seconds", "When the daemon wrote these metrics.").set(
        snapshot.at
    )
    gauge("daemon_start_timestamp_seconds", "When the daemon started.").set(snapshot.started_at)
    gauge("queue_depth", "Changes waiting to be recorded (queued and settling).").set(
        snapshot.queue
    )
    gauge("backlog", "Changes kept until the catalog takes them (spooled, retried).").set(
        snapshot.backlog
    )
    counters = {
        "files_ingested": "Files recorded: new, modified, moved or copied.",
        "read_errors": "Files that could not be read or recorded, and failed batches.",
        "events_lost": "Times the kernel dropped filesystem events (the root was rescanned).",
    }
    for name, text in counters.items():
        Counter(f"provenance_{name}", text, registry=registry).inc(getattr(snapshot, name))
    watched = gauge("root_watched", "1 when the root is watched.", ("root",))
    online = gauge("root_online", "1 when the root is online.", ("root",))
    age = gauge(
        "root_last_scan_age_seconds", "Seconds since the root's last scan finished.", ("root",)
    )
    hears = gauge(
        "root_hears", "1 when the root's watcher proved it hears since it started.", ("root",)
    )
    heard = gauge(
        "root_last_canary_age_seconds",
        "Seconds since the root's watcher last heard a canary.",
        ("root",),
    )
    for root in snapshot.roots:
        watched.labels(root.path).set(int(root.watched))
        online.labels(root.path).set(int(root.online))
        hears.labels(root.path).set(int(root.hears))
        if root.last_scan_age is not None:
            age.labels(root.path).set(root.last_scan_age)
        if root.last_canary_age is not None:
            heard.labels(root.path).set(root.last_canary_age)
    notices = {
        "sent": "Notices a webhook took (2xx), since the daemon started.",
        "failed": "Sends to a webhook that failed and are tried again, since the start.",
        "given_up": "Notices a webhook refused for good (4xx), not sent again, since the start.",
    }
    for kind, text in notices.items():
        counter = Counter(f"provenance_notify_{kind}", text, ("webhook",), registry=registry)
        for name, counts in sorted(snapshot.notify.items()):
            counter.labels(name).inc(getattr(counts, kind))
    assets = gauge(
        "ai_assets", "AI assets under this node's roots by root and status.", ("root", "status")
    )
    for (root_path, status), count in sorted(snapshot.ai_assets.items()):
        assets.labels(root_path, status).set(count)
    return generate_latest(registry)
