"""The distribution as users get it: a wheel built from the checkout installs and runs."""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from provenance import __version__
from tests.media import write_a1111_png

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the checkout, built offline from a copy of it (the build writes beside
    its sources), with the setuptools the test tools installed."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "provenance", source / "provenance", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    done = subprocess.run(
        [*build, "--no-index", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("*.whl")
    return built


def test_wheel_carries_the_package_its_data_the_command_and_the_license(wheel: Path) -> None:
    assert wheel.name.startswith(f"provenance_tracker-{__version__}-py3-none-any")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"provenance_tracker-{__version__}.dist-info"
        metadata = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    packaged = {path.relative_to(ROOT).as_posix() for path in (ROOT / "provenance").rglob("*")}
    packaged = {
        name
        for name in packaged
        if (ROOT / name).is_file() and "__pycache__" not in name and not name.endswith(".pyc")
    }
    assert packaged, "no package files found"
    assert packaged <= names, f"left out of the wheel: {sorted(packaged - names)}"
    assert any(name.startswith("provenance/data/") for name in names)
    assert f"{info}/licenses/LICENSE" in names
    assert metadata["Name"] == "provenance-tracker" == PROJECT["name"]
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "provenance = provenance.cli:run" in entry_points


def test_wheel_installs_into_a_fresh_environment_and_its_command_runs(
    wheel: Path, tmp_path: Path
) -> None:
    # A new virtual environment holds only the wheel; the dependencies come from this
    # environment's site-packages (a path file), so that nothing is downloaded.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site) / "dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    done = subprocess.run(
        [*install, "--no-index", "-q", str(wheel)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr

    folder = tmp_path / "production"
    write_a1111_png(folder / "plate.png")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "PROVENANCE_", "VIRTUAL_ENV"))
    }
    env["PROVENANCE_STATE_DIR"] = str(tmp_path / "state")
    command = venv / "bin" / "provenance"
    where = subprocess.run(
        [str(python), "-c", "import provenance; print(provenance.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert where.stdout.startswith(str(venv)), (where.stdout, where.stderr)
    version = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert version.returncode == 0 and __version__ in version.stdout, version.stderr
    scanned = subprocess.run(
        [str(command), "scan", str(folder)], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert scanned.returncode == 0, scanned.stderr
    assert "1 AI asset" in scanned.stdout, scanned.stdout
    assert (tmp_path / "state" / "catalog.sqlite").is_file()
