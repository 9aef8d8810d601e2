"""Walk a Matroska or WebM file's tags (SimpleTag name/string pairs) and the application
names of its segment information (``WritingApp``, ``MuxingApp``).

Reads headers only, as every audio and video walk (see ``blocks.TAG_KEYWORDS``).
"""

from __future__ import annotations

import logging

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import MAX_BLOCK, MAX_ELEMENTS, Parts

log = logging.getLogger(__name__)

#: How deep the element tree is followed.
_MAX_DEPTH = 8
_EBML_HEADER = 0x1A45DFA3
_SEGMENT = 0x18538067
_TAGS = 0x1254C367
_TAG = 0x7373
_SIMPLE_TAG = 0x67C8
_TAG_NAME = 0x45A3
_TAG_STRING = 0x4487
_CLUSTER = 0x1F43B675
_INFO = 0x1549A966
#: The segment information's application names -> the tag name they are read as.
_APPS = {0x5741: "writing_app", 0x4D80: "muxing_app"}
#: Master elements the walk descends into on its way to the tags.
_MASTERS = (_SEGMENT, _INFO, _TAGS, _TAG, _SIMPLE_TAG)


def walk_matroska(data: Buffer, parts: Parts) -> None:
    """Add the SimpleTag name/string pairs of a Matroska or WebM file to ``parts``.

    Clusters (the media) are stepped over by their sizes; a tag block written after them
    (at the end of the file, as muxers do) is still reached without reading a frame.
    """
    count = [0]
    _walk_ebml(data, 0, len(data), parts, 0, count)


def _walk_ebml(
    data: Buffer, start: int, end: int, parts: Parts, depth: int, count: list[int]
) -> None:
    position = start
    while position < end and depth <= _MAX_DEPTH:
        count[0] += 1
        if count[0] > MAX_ELEMENTS:
            parts.problems.append("Matroska: too many elements; walk stopped")
            return
        element = _vint(data, position, end, keep_marker=True)
        if element is None:
            return
        element_id, id_length = element
        size = _vint(data, position + id_length, end, keep_marker=False)
        if size is None:
            return
        length, size_length = size
        body = position + id_length + size_length
        unknown = length == (1 << (7 * size_length)) - 1  # "unknown size": runs to the parent's end
        stop = end if unknown else body + length
        if stop > end:
            if element_id != _SEGMENT:
                parts.problems.append("Matroska: element runs past the end; file truncated")
                return
            stop = end
        if element_id == _SIMPLE_TAG:
            _read_simple_tag(data, body, stop, parts)
        elif element_id in _APPS and depth == 2 and length <= MAX_BLOCK:
            app = bytes(data[body:stop]).decode("utf-8", errors="replace")
            parts.add_tag(_APPS[element_id], app, f"Matroska Info {_APPS[element_id]!r}")
        elif element_id in _MASTERS:
            _walk_ebml(data, body, stop, parts, depth + 1, count)
        elif element_id == _CLUSTER and unknown:
            return  # a live-written cluster of unknown size: its end cannot be found cheaply
        position = stop


def _read_simple_tag(data: Buffer, start: int, end: int, parts: Parts) -> None:
    name = value = None
    position = start
    while position < end:
        element = _vint(data, position, end, keep_marker=True)
        size = _vint(data, position + element[1], end, keep_marker=False) if element else None
        if element is None or size is None:
            return
        body = position + element[1] + size[1]
        stop = body + size[0]
        if stop > end or size[0] > MAX_BLOCK:
            return
        if element[0] == _TAG_NAME:
            name = bytes(data[body:stop]).decode("utf-8", errors="replace")
        elif element[0] == _TAG_STRING:
            value = bytes(data[body:stop]).decode("utf-8", errors="replace")
        position = stop
    if name and value:
        parts.add_tag(name, value, f"Matroska tag {name!r}")


def _vint(data: Buffer, position: int, end: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """Return (value, length) of an EBML variable-length integer at ``position``."""
    if position >= end:
        return None
    first = data[position]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or position + length > end:
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for index in range(1, length):
        value = value << 8 | data[position + index]
    return value, length
