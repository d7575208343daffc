"""load_mnist's download path against a local HTTP server: mirrors, checksums, the cache.

Nothing here touches the internet: the mirrors are folders served on 127.0.0.1.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shenjing.data import DownloadError, download_files, load_mnist, mnist, write_idx

N_TRAIN, N_TEST = 12, 5


class Mirrors:
    """An HTTP server on 127.0.0.1 serving ``root``; ``url(folder)`` is a mirror base URL."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                requests.append(self.path)

        handler = functools.partial(Handler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # A short poll interval makes shutdown() quick.
        serve = functools.partial(self.server.serve_forever, poll_interval=0.02)
        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def url(self, folder: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{folder}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _dead_mirror() -> str:
    """A URL where nothing listens: the port was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def _write_mnist_like(folder: Path, seed: int, compress: bool = True) -> dict[str, np.ndarray]:
    """Four small IDX files under MNIST's names; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        write_idx(folder / (f"{stem}.gz" if compress else stem), array, compress=compress)
    return arrays


def _table(folder: Path, algorithms: tuple[str, ...] = ("sha256", "md5")) -> list[dict]:
    return [
        {"name": path.name}
        | {a: hashlib.new(a, path.read_bytes()).hexdigest() for a in algorithms}
        for path in sorted(folder.glob("*.gz"))
    ]


def _assert_loaded(result: tuple, arrays: dict[str, np.ndarray]) -> None:
    (x_train, y_train), (x_test, y_test) = result
    assert x_train.shape == (N_TRAIN, 1, 28, 28) and x_train.dtype == np.float32
    assert y_train.dtype == np.int64
    np.testing.assert_allclose(x_train[:, 0], arrays["train-images-idx3-ubyte"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_allclose(x_test[:, 0], arrays["t10k-images-idx3-ubyte"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mirrors, dict]]:
    """A server with a good mirror ("good") and one serving other bytes ("bad"); the
    checksum table describes the good files. ``SHENJING_DATA`` is unset."""
    monkeypatch.delenv("SHENJING_DATA", raising=False)
    arrays = _write_mnist_like(tmp_path / "www" / "good", seed=0)
    _write_mnist_like(tmp_path / "www" / "bad", seed=1)
    monkeypatch.setattr(mnist, "MNIST_FILES", _table(tmp_path / "www" / "good"))
    mirrors = Mirrors(tmp_path / "www")
    yield mirrors, arrays
    mirrors.close()


def test_download_verifies_and_caches(
    site: tuple[Mirrors, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirrors, arrays = site
    cache = tmp_path / "cache"
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", [mirrors.url("good")])
    _assert_loaded(load_mnist(cache_dir=cache), arrays)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f["name"] for f in mnist.MNIST_FILES)
    assert len(mirrors.requests) == 4

    # The second call reads the verified cache: no request, even with every mirror down.
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", [_dead_mirror()])
    _assert_loaded(load_mnist(cache_dir=cache), arrays)
    assert len(mirrors.requests) == 4


def test_bad_checksum_is_rejected_and_the_next_mirror_tried(
    site: tuple[Mirrors, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirrors, arrays = site
    cache = tmp_path / "cache"
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", [mirrors.url("bad"), mirrors.url("good")])
    _assert_loaded(load_mnist(cache_dir=cache), arrays)
    assert sum(r.startswith("/bad/") for r in mirrors.requests) == 4
    assert sum(r.startswith("/good/") for r in mirrors.requests) == 4
    good = tmp_path / "www" / "good"
    for path in cache.iterdir():
        assert path.read_bytes() == (good / path.name).read_bytes()


def test_no_mirror_answering_names_every_mirror(
    site: tuple[Mirrors, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirrors, _ = site
    dead, bad, missing = _dead_mirror(), mirrors.url("bad"), mirrors.url("nothing-here")
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", [dead, bad, missing])
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        load_mnist(cache_dir=cache)
    message = str(info.value)
    first = mnist.MNIST_FILES[0]["name"]
    assert f"Could not download {first}" in message
    assert dead + first in message and "refused" in message.lower()
    assert bad + first in message and "sha256 expected" in message
    assert missing + first in message and "404" in message
    assert list(cache.iterdir()) == [], "no partial or temporary file may stay behind"


def test_corrupt_cache_file_is_downloaded_again(
    site: tuple[Mirrors, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirrors, arrays = site
    cache = tmp_path / "cache"
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", [mirrors.url("good")])
    load_mnist(cache_dir=cache)
    name = mnist.MNIST_FILES[0]["name"]
    (cache / name).write_bytes(b"garbage")
    _assert_loaded(load_mnist(cache_dir=cache), arrays)
    assert mirrors.requests.count(f"/good/{name}") == 2


@pytest.mark.parametrize("algorithms", [("sha256",), ("md5",)], ids=["sha256", "md5"])
def test_either_digest_suffices(
    site: tuple[Mirrors, dict], tmp_path: Path, algorithms: tuple[str, ...]
) -> None:
    mirrors, _ = site
    table = _table(tmp_path / "www" / "good", algorithms)
    paths = download_files(table, [mirrors.url("bad"), mirrors.url("good")], tmp_path / "c")
    assert [p.name for p in paths] == [f["name"] for f in table]


def test_a_file_without_digest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a 'sha256' or 'md5'"):
        download_files([{"name": "x.gz"}], [_dead_mirror()], tmp_path)


def test_default_cache_is_under_shenjing_data(
    site: tuple[Mirrors, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirrors, arrays = site
    monkeypatch.setenv("SHENJING_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", [mirrors.url("good")])
    _assert_loaded(load_mnist(), arrays)
    assert len(list((tmp_path / "data" / "mnist").glob("*.gz"))) == 4


def test_local_folder_needs_no_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHENJING_DATA", raising=False)
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", [_dead_mirror()])
    arrays = _write_mnist_like(tmp_path / "root" / "mnist", seed=3, compress=False)
    _assert_loaded(load_mnist(root=tmp_path / "root", cache_dir=tmp_path / "cache"), arrays)
    assert not (tmp_path / "cache").exists()


def test_nothing_anywhere_without_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHENJING_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="MNIST not found") as info:
        load_mnist(root=tmp_path / "empty", download=False, cache_dir=tmp_path / "cache")
    assert str(tmp_path / "empty") in str(info.value)
    assert str(tmp_path / "cache") in str(info.value)


def test_published_table_has_both_digests_for_the_four_files() -> None:
    names = [f["name"] for f in mnist.MNIST_FILES]
    assert names == [f"{stem}.gz" for stem in mnist.FILE_STEMS.values()]
    for spec in mnist.MNIST_FILES:
        assert len(spec["sha256"]) == 64 and len(spec["md5"]) == 32
    assert all(url.endswith("/") for url in mnist.MNIST_MIRRORS)


class Misbehaving:
    """A local server whose /short answer is cut off and whose /trickle answer sends one
    byte every 0.2 s; both declare 100 bytes."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                if self.path.endswith("/short/f.bin"):
                    self.wfile.write(bytes(40))
                    return
                for _ in range(100):
                    try:
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        return
                    time.sleep(0.2)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        serve = functools.partial(self.server.serve_forever, poll_interval=0.02)
        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def url(self, folder: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{folder}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def misbehaving() -> Iterator[Misbehaving]:
    server = Misbehaving()
    yield server
    server.close()


SPEC = {"name": "f.bin", "sha256": "0" * 64}


def test_a_short_body_is_reported_as_truncated(misbehaving: Misbehaving, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="truncated: got 40 of 100 bytes"):
        download_files([SPEC], [misbehaving.url("short")], tmp_path, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_a_trickling_server_is_cut_off_at_the_deadline(misbehaving: Misbehaving,
                                                       tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"deadline of 0.6 s passed: got \d+ of 100 bytes"):
        download_files([SPEC], [misbehaving.url("trickle")], tmp_path, timeout=5, deadline=0.6)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside.gz", "a/../../b.gz",
                                  "C:\\x.gz", "..\\x.gz"])
def test_a_file_name_that_leaves_the_cache_folder_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="absolute or contains '..'"):
        download_files([{**SPEC, "name": name}], ["http://127.0.0.1:9/"], tmp_path)


class Trickler:
    """A raw server on 127.0.0.1 that sends its whole answer one byte at a time, every
    ``interval`` seconds: the status line and headers too (``headers``), or only the body
    (``body``, declared as 10 kB). Each read the client makes is well within its timeout."""

    def __init__(self, interval: float) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            request = conn.recv(65536).decode(errors="replace")
            head = b"HTTP/1.0 200 OK\r\nContent-Length: 10000\r\n\r\n"
            if "/body/" in request:
                conn.sendall(head)
                head = b""
            for byte in head + b"x" * 10000:
                if self.stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the client gave up
                    return
                time.sleep(self.interval)

    def url(self, what: str) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/{what}/"

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()


@pytest.mark.parametrize(("what", "message"), [
    ("headers", "no complete answer"), ("body", "stalled")])
def test_a_trickle_is_given_up_within_10_timeouts_whatever_the_deadline(
        what: str, message: str, tmp_path: Path) -> None:
    # A byte every half timeout (the probe: a byte a second with timeout=2), with
    # the default deadline of 600 s: it used to run on for as long as the server sent.
    timeout = 0.5
    server = Trickler(interval=timeout / 2)
    try:
        started = time.monotonic()
        with pytest.raises(DownloadError, match=message):
            download_files([SPEC], [server.url(what)], tmp_path, timeout=timeout)
        assert time.monotonic() - started < 10 * timeout
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []
