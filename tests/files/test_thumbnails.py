"""Thumbnails and poster frames made in real reader workers: real corpus files read in place,
images made by Pillow, a decompression bomb refused, pictures bounded, kept by content hash
in private files."""

from __future__ import annotations

import io
import os
import shutil
import stat
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from provenance.files.hashing import hash_file
from provenance.files.readfile import ReadOptions
from provenance.files.thumbnails import (
    CACHE_DIR,
    MAX_BYTES,
    MAX_SIDE,
    NoPictureError,
    ThumbnailCache,
    Thumbnailer,
    Wanted,
)
from tests.detect.corpus import CORPUS, corpus_rows
from tests.needs import unavailable

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
VIDEO_SUFFIXES = (".mp4",)


@pytest.fixture
def thumbnailer(tmp_path: Path) -> Iterator[Thumbnailer]:
    with Thumbnailer(tmp_path / "state", ReadOptions(seconds=20), ffmpeg="ffmpeg") as maker:
        yield maker


def _corpus(suffixes: tuple[str, ...]) -> list[Path]:
    rows = corpus_rows()
    if not rows:
        unavailable(f"the real-sample corpus is not at {CORPUS}")
    return [CORPUS / row["file"] for row in rows if row["file"].endswith(suffixes)]


def _wanted(path: Path, root: Path | None = None) -> Wanted:
    return Wanted(str(root or path.parent), str(path), hash_file(path))


def _check_picture(data: bytes) -> Image.Image:
    assert len(data) <= MAX_BYTES
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "WEBP"
        assert max(image.size) <= MAX_SIDE
        image.load()
        return image.copy()


def test_every_corpus_image_gets_a_small_picture(thumbnailer: Thumbnailer) -> None:
    files = _corpus(IMAGE_SUFFIXES)
    assert len(files) >= 30
    wanted = [_wanted(path) for path in files]
    made = thumbnailer.pictures(wanted)
    assert set(made) == {w.content_hash for w in wanted}
    for data in made.values():
        _check_picture(data)
    # a big image keeps its shape, at MAX_SIDE on its longer side
    source = CORPUS / "c2pa_google_gemini_created.png"
    picture = _check_picture(made[_wanted(source).content_hash])
    with Image.open(source) as original:
        width, height = original.size
    assert max(picture.size) == MAX_SIDE
    assert abs(picture.size[0] / picture.size[1] - width / height) < 0.05


def test_a_corpus_video_gets_a_poster_frame(thumbnailer: Thumbnailer) -> None:
    if shutil.which("ffmpeg") is None:
        unavailable("ffmpeg is not installed (apt-get install ffmpeg); .ci/run installs it")
    videos = _corpus(VIDEO_SUFFIXES)
    assert videos
    made = thumbnailer.pictures([_wanted(path) for path in videos])
    assert len(made) == len(videos)
    for data in made.values():
        _check_picture(data)


def test_without_ffmpeg_a_video_gets_no_picture_and_nothing_is_kept(tmp_path: Path) -> None:
    video = _corpus(VIDEO_SUFFIXES)[0]
    with Thumbnailer(tmp_path / "state", ReadOptions(), ffmpeg="") as maker:
        assert maker.picture(_wanted(video)) is None
        assert maker.cache.get(hash_file(video)) is None  # tried again once ffmpeg is there


def _jpeg(size: tuple[int, int], **save: object) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(out, "JPEG", **save)
    return out.getvalue()


def test_generated_images_of_every_mode_get_pictures(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    made: dict[str, Image.Image] = {}

    def save(name: str, image: Image.Image, fmt: str, **options: object) -> None:
        image.save(root / name, fmt, **options)

    save("big.jpg", Image.new("RGB", (6000, 4000), "teal"), "JPEG")  # draft mode: 1/8
    save("cmyk.jpg", Image.new("CMYK", (300, 200), (0, 255, 255, 0)), "JPEG")
    save("deep.png", Image.new("I;16", (400, 300), 40000), "PNG")
    save("alpha.png", Image.new("RGBA", (300, 600), (255, 0, 0, 128)), "PNG")
    save("palette.gif", Image.new("P", (200, 100), 3), "GIF")
    save("gray.tiff", Image.new("L", (500, 500), 90), "TIFF")
    frames = [Image.new("RGB", (160, 90), colour) for colour in ("red", "blue")]
    frames[0].save(root / "anim.webp", "WEBP", save_all=True, append_images=frames[1:])
    rotated = Image.new("RGB", (400, 200), "navy")
    exif = rotated.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show
    rotated.save(root / "rotated.jpg", "JPEG", exif=exif)
    with Thumbnailer(tmp_path / "state", ReadOptions()) as maker:
        for path in sorted(root.iterdir()):
            data = maker.picture(_wanted(path, root))
            assert data is not None, path.name
            made[path.name] = _check_picture(data)
    assert made["big.jpg"].size == (128, 85)
    assert made["alpha.png"].mode == "RGBA" and made["alpha.png"].size == (64, 128)
    assert made["rotated.jpg"].size == (64, 128)  # shown as the camera meant
    assert made["deep.png"].getpixel((0, 0)) == (156, 156, 156)  # 40000 / 256, not clipped
    assert made["anim.webp"].getpixel((5, 5))[0] > 200  # the first frame: red


def _bomb(width: int, height: int, rows: int | None = None) -> bytes:
    """A real PNG decompression bomb: a grey image of ``width`` x ``height`` zeros, a few
    hundred kilobytes of deflate (``rows``: only the first rows, a header that lies)."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte and the row
    count = height if rows is None else rows
    body = b"".join(packer.compress(row) for _ in range(count)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_refused_and_remembered(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    bomb = root / "bomb.png"
    bomb.write_bytes(_bomb(9000, 9000))  # 81 million pixels in a small file
    assert bomb.stat().st_size < 200_000
    huge = root / "huge.png"  # a header that claims 10 billion pixels
    huge.write_bytes(_bomb(100_000, 100_000, rows=10))
    with Thumbnailer(tmp_path / "state", ReadOptions()) as maker:
        for path in (bomb, huge):
            wanted = _wanted(path, root)
            assert maker.picture(wanted) is None
            kept = maker.cache.get(wanted.content_hash)
            assert isinstance(kept, NoPictureError)
            assert "decompression bomb" in kept.reason
        assert maker._reader is not None and maker._reader.running  # no worker died


def test_an_image_over_the_memory_budget_gets_no_picture(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    big = root / "big.png"
    Image.new("RGB", (7000, 7000), "white").save(big, "PNG")  # 147 MB decoded
    with Thumbnailer(tmp_path / "state", ReadOptions(memory_mb=48)) as maker:
        wanted = _wanted(big, root)
        assert maker.picture(wanted) is None
        kept = maker.cache.get(wanted.content_hash)
        assert isinstance(kept, NoPictureError)
        assert "memory budget" in kept.reason or "died" in kept.reason


def test_other_content_a_link_or_a_fifo_gets_no_picture(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    image = root / "shot.jpg"
    image.write_bytes(_jpeg((300, 200)))
    before = _wanted(image, root)
    image.write_bytes(_jpeg((300, 201)))  # changed since it was catalogued
    (root / "link.jpg").symlink_to(image)
    os.mkfifo(root / "pipe.jpg")
    with Thumbnailer(tmp_path / "state", ReadOptions(seconds=5)) as maker:
        assert maker.picture(before) is None
        assert maker.cache.get(before.content_hash) is None  # not remembered: try again later
        link = Wanted(str(root), str(root / "link.jpg"), hash_file(image))
        assert maker.picture(link) is None
        fifo = Wanted(str(root), str(root / "pipe.jpg"), "blake3:" + "0" * 64)
        assert maker.picture(fifo) is None


def test_pictures_are_kept_privately_by_content_hash(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    first, copy = root / "a.jpg", root / "b.jpg"
    first.write_bytes(_jpeg((640, 480)))
    shutil.copyfile(first, copy)
    state = tmp_path / "state"
    with Thumbnailer(state, ReadOptions()) as maker:
        made = maker.pictures([_wanted(first, root), _wanted(copy, root)])
    assert len(made) == 1  # one content, one picture
    ((content_hash, data),) = made.items()
    kept = state / CACHE_DIR / content_hash[7:9] / f"{content_hash[7:]}.webp"
    assert kept.read_bytes() == data
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / CACHE_DIR).stat().st_mode) == 0o700
    first.unlink()  # kept: no worker is needed, nor the file
    with Thumbnailer(state, ReadOptions()) as maker:
        assert maker.picture(_wanted(copy, root)) == data
        assert maker._reader is None
    assert ThumbnailCache(state).get("blake3:" + "f" * 64) is None
    with pytest.raises(ValueError, match="not a content hash"):
        ThumbnailCache(state).get("blake3:../../etc")


def test_a_poster_frame_past_its_time_budget_is_refused_and_remembered(tmp_path: Path) -> None:
    slow = tmp_path / "slow-ffmpeg"  # a decoder that never answers
    slow.write_text("#!/bin/sh\nexec sleep 60\n", encoding="ascii")
    slow.chmod(0o755)
    video = _corpus(VIDEO_SUFFIXES)[0]
    with Thumbnailer(tmp_path / "state", ReadOptions(seconds=2.5), ffmpeg=str(slow)) as maker:
        wanted = _wanted(video)
        assert maker.picture(wanted) is None
        kept = maker.cache.get(wanted.content_hash)
        assert isinstance(kept, NoPictureError) and "took longer than" in kept.reason
