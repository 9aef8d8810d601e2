"""Changes confined to a root: no link followed, the file checked just before the act."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from provenance.errors import ConfinementError, Refusal, WriteError
from provenance.files.confined import (
    move,
    open_folder,
    open_root,
    remove,
    remove_socket,
    unlink,
)
from tests.osusers import OsAccounts, accounts
from tests.planted import link_of_another_user, mode

__all__ = ["accounts"]


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "shots").mkdir(parents=True)
    outside.mkdir()
    (root / "shots" / "a.png").write_bytes(b"a")
    (outside / "a.png").write_bytes(b"a")
    return root, outside


def test_a_folder_that_is_a_link_is_never_followed(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "linked").symlink_to(outside)
    with open_root(root) as top, pytest.raises(ConfinementError) as caught:
        top.open_file(root / "linked" / "a.png")
    assert caught.value.kind is Refusal.SYMLINK
    assert "symbolic link" in str(caught.value)


def test_a_file_that_is_a_link_is_never_opened(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "shots" / "b.png").symlink_to(outside / "a.png")
    with open_root(root) as top, pytest.raises(ConfinementError) as caught:
        top.open_file(root / "shots" / "b.png")
    assert caught.value.kind is Refusal.SYMLINK


def test_a_fifo_is_not_a_regular_file(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    os.mkfifo(root / "shots" / "pipe.png")
    with open_root(root) as top, pytest.raises(ConfinementError) as caught:
        top.open_file(root / "shots" / "pipe.png")
    assert caught.value.kind is Refusal.NOT_REGULAR


def test_paths_outside_the_root_or_with_dot_dot_are_refused(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    with open_root(root) as top:
        for path in (outside / "a.png", f"{root}/shots/../../outside/a.png", f"{root}/./a"):
            with pytest.raises(ConfinementError) as caught:
                top.parts(path)
            assert caught.value.kind is Refusal.OUTSIDE


def test_created_folders_refuse_a_link_put_in_their_place(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "q").symlink_to(outside)
    with open_root(root) as top, pytest.raises(ConfinementError):
        top.folder(["q", "shots"], create=True)
    assert sorted(p.name for p in outside.iterdir()) == ["a.png"]


def test_move_never_replaces_a_file(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / "q").mkdir()
    (root / "q" / "a.png").write_bytes(b"other")
    with (
        open_root(root) as top,
        top.open_file(root / "shots" / "a.png") as file,
        top.folder(["q"]) as target,
    ):
        with pytest.raises(FileExistsError):
            move(file, target, "a.png")
        file.folder.close()
    assert (root / "q" / "a.png").read_bytes() == b"other"
    assert (root / "shots" / "a.png").read_bytes() == b"a"


def test_a_file_replaced_after_its_check_is_not_moved_or_deleted(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    with open_root(root) as top, top.open_file(root / "shots" / "a.png") as file:
        replacement = root / "shots" / "new.png"
        replacement.write_bytes(b"a")
        os.replace(replacement, root / "shots" / "a.png")  # same content, another inode
        with top.folder(["q"], create=True) as target, pytest.raises(ConfinementError) as caught:
            move(file, target, "a.png")
        assert caught.value.kind is Refusal.CHANGED
        with pytest.raises(ConfinementError):
            unlink(file)
        file.folder.close()
    assert (root / "shots" / "a.png").read_bytes() == b"a"


def test_a_file_changed_after_its_check_is_not_deleted(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    with open_root(root) as top, top.open_file(root / "shots" / "a.png") as file:
        (root / "shots" / "a.png").write_bytes(b"changed")
        with pytest.raises(ConfinementError, match="changed since checked") as caught:
            unlink(file)
        assert caught.value.kind is Refusal.CHANGED
        file.folder.close()
    assert (root / "shots" / "a.png").read_bytes() == b"changed"


def test_a_folder_swapped_for_a_link_after_it_was_opened_keeps_the_act_inside(
    tree: tuple[Path, Path],
) -> None:
    root, outside = tree
    with open_root(root) as top, top.open_file(root / "shots" / "a.png") as file:
        os.rename(root / "shots", root / "shots.real")
        (root / "shots").symlink_to(outside)
        links = unlink(file)
        file.folder.close()
    assert links == 0
    assert not (root / "shots.real" / "a.png").exists()
    assert (outside / "a.png").read_bytes() == b"a"


def test_unlink_says_when_other_hard_links_keep_the_bytes(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    os.link(root / "shots" / "a.png", root / "a-copy.png")
    with open_root(root) as top, top.open_file(root / "shots" / "a.png") as file:
        assert unlink(file) == 1
        file.folder.close()


def test_replacing_refuses_a_file_replaced_meanwhile(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    with open_root(root) as top, top.open_file(root / "shots" / "a.png") as file:
        (root / "shots" / "a.png").unlink()
        (root / "shots" / "a.png").write_bytes(b"theirs")
        with (
            pytest.raises(WriteError, match="replaced by another file"),
            file.folder.replacing("a.png", expect=file) as out,
        ):
            out.write(b"ours")
        file.folder.close()
    assert (root / "shots" / "a.png").read_bytes() == b"theirs"
    assert sorted(p.name for p in (root / "shots").iterdir()) == ["a.png"]


def test_each_refusal_says_its_kind(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / "plain").write_bytes(b"")
    with open_root(root) as top:
        cases = {
            Refusal.NOT_FOUND: lambda: top.folder(["missing", "deeper"]),
            Refusal.NOT_FOLDER: lambda: top.folder(["plain"]),
            Refusal.OUTSIDE: lambda: top.folder([".."]),
        }
        for kind, act in cases.items():
            with pytest.raises(ConfinementError) as caught:
                act()
            assert caught.value.kind is kind, caught.value
        with top.open_file(root / "shots" / "a.png") as file, file.folder:
            with pytest.raises(ConfinementError) as caught:
                file.read(0)
            assert caught.value.kind is Refusal.TOO_LARGE
        with pytest.raises(ConfinementError) as caught:
            top.open_file(root / "shots" / "nothing.png")
        assert caught.value.kind is Refusal.NOT_FOUND


# --- the service's own folders: open_folder from "/" ------------------------------------


def test_open_folder_makes_the_missing_folders_private_whatever_the_umask(
    tmp_path: Path, no_umask: None
) -> None:
    with open_folder(tmp_path / "a" / "b", create=True) as folder:
        assert folder.path == tmp_path / "a" / "b"
        folder.write_bytes("status.json", b"{}")
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b")) == (0o700, 0o700)
    assert mode(tmp_path / "a" / "b" / "status.json") == 0o600
    assert os.listdir(tmp_path / "a" / "b") == ["status.json"]  # no temporary file left


def test_open_folder_refuses_a_link_of_another_user_on_the_way(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    nobody = link_of_another_user(tmp_path / "state", tmp_path / "elsewhere")
    with pytest.raises(ConfinementError) as caught:
        open_folder(tmp_path / "state" / "deeper", create=True)
    assert caught.value.kind is Refusal.SYMLINK
    assert caught.value.path == tmp_path / "state"
    assert f"uid {nobody.pw_uid}" in caught.value.reason
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_open_folder_follows_a_link_of_this_user(tmp_path: Path) -> None:
    (tmp_path / "real" / "state").mkdir(parents=True)
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "state").symlink_to("../real/state")  # relative, with ".."
    with open_folder(tmp_path / "up" / "state" / "new", create=True) as folder:
        folder.write_bytes("x", b"1")
    assert (tmp_path / "real" / "state" / "new" / "x").read_bytes() == b"1"


def test_open_folder_without_create_says_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfinementError) as caught:
        open_folder(tmp_path / "missing")
    assert caught.value.kind is Refusal.NOT_FOUND


def test_write_bytes_replaces_a_link_at_its_name_and_never_writes_through(
    tmp_path: Path, no_umask: None
) -> None:
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "status.json").symlink_to(target)
    with open_folder(tmp_path / "state") as folder:
        folder.write_bytes("status.json", b"ours")
    assert target.read_bytes() == b"keep me"
    assert not (tmp_path / "state" / "status.json").is_symlink()
    assert (tmp_path / "state" / "status.json").read_bytes() == b"ours"
    assert mode(tmp_path / "state" / "status.json") == 0o600


def test_open_for_writing_refuses_a_link_or_a_fifo_and_keeps_files_private(
    tmp_path: Path, no_umask: None
) -> None:
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    (tmp_path / "lock").symlink_to(target)
    os.mkfifo(tmp_path / "pipe")
    with open_folder(tmp_path) as folder:
        for name, kind in (("lock", Refusal.SYMLINK), ("pipe", Refusal.NOT_REGULAR)):
            with pytest.raises(ConfinementError) as caught:
                folder.open_for_writing(name, os.O_RDWR)
            assert caught.value.kind is kind
        os.close(folder.open_for_writing("new.lock", os.O_RDWR))
        with pytest.raises(FileExistsError):
            folder.open_for_writing("new.lock", os.O_WRONLY | os.O_EXCL)
        assert remove(folder, "lock", links=True)
    assert target.read_bytes() == b"keep me" and not (tmp_path / "lock").exists()
    assert mode(tmp_path / "new.lock") == 0o600


def test_open_folder_passes_folders_it_may_search_but_not_read(accounts: OsAccounts) -> None:
    user = accounts.user()
    passage = accounts.shared / "passage"
    passage.mkdir(mode=0o711)  # x only for the user, as a home folder often is
    passage.chmod(0o711)
    (passage / "theirs").mkdir()
    os.chown(passage / "theirs", user.uid, user.gid)
    code = (
        "import sys\n"
        "from provenance.files.confined import open_folder\n"
        "with open_folder(sys.argv[1] + '/state', create=True) as folder:\n"
        "    folder.write_bytes('status.json', b'{}')\n"
    )
    done = accounts.python(user, code, [str(passage / "theirs")])
    assert done.returncode == 0, done.stderr
    made = passage / "theirs" / "state"
    assert (mode(made), mode(made / "status.json")) == (0o700, 0o600)
    assert made.stat().st_uid == user.uid


def test_remove_socket_takes_only_a_socket_of_ours(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("kept")
    (tmp_path / "elsewhere.sock").write_text("kept")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "api.sock"))
    listener.close()
    with open_folder(tmp_path) as folder:
        assert not remove_socket(folder, "file")
        assert not remove_socket(folder, "link")  # a link, never what it leads to
        assert not remove_socket(folder, "missing")
        assert remove_socket(folder, "api.sock")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.sock", "file", "link"]


def test_a_move_by_hard_link_keeps_a_file_swapped_in_before_the_unlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a filesystem without renameat2: the move links, then unlinks the old name only while
    # it still leads to the file linked
    from provenance.files import confined

    monkeypatch.setattr(confined, "_renameat2", None)
    (tmp_path / "a.png").write_bytes(b"first")
    folder = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        confined._rename_noreplace(folder, "a.png", folder, "b.png")
        assert not (tmp_path / "a.png").exists() and (tmp_path / "b.png").read_bytes() == b"first"
        # a new file at the old name between the link and the unlink stays, the link goes
        (tmp_path / "c.png").write_bytes(b"mine")
        real_link = os.link

        def link_then_swap(*args: object, **kwargs: object) -> None:
            real_link(*args, **kwargs)  # type: ignore[arg-type]
            (tmp_path / "c.png").unlink()
            (tmp_path / "c.png").write_bytes(b"swapped in")

        monkeypatch.setattr(confined.os, "link", link_then_swap)
        with pytest.raises(OSError, match="replaced during the move"):
            confined._rename_noreplace(folder, "c.png", folder, "d.png")
        assert (tmp_path / "c.png").read_bytes() == b"swapped in"
        assert not (tmp_path / "d.png").exists()
    finally:
        os.close(folder)
