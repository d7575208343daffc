"""Downloading data files from a list of mirrors into a cache, checking their checksums.

A file is described by a dict: ``{"name": "train-images-idx3-ubyte.gz", "sha256": ...}``
(``"md5"`` works too; every digest given is checked). For each file not already in the
cache with the right digest, each mirror ``base_url + name`` is tried in turn; the bytes
stream into a temporary file in the cache folder while being hashed, and only a file
whose digests match is renamed into place. When no mirror delivers, ``DownloadError``
names every mirror tried and what went wrong there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from shenjing.data._atomic import atomic_open

__all__ = ["DownloadError", "checksum_mismatches", "download_files"]

_CHUNK = 1 << 20
_ALGORITHMS = ("sha256", "md5")


class DownloadError(OSError):
    """No mirror delivered a file with the expected checksum."""


class _ChecksumMismatch(Exception):
    pass


def _check_name(name: object) -> None:
    """A spec's file name must stay inside the cache folder: one plain relative name."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"download: a file spec needs a 'name'. Received: {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or PureWindowsPath(name).is_absolute() or ".." in path.parts or (
            ".." in PureWindowsPath(name).parts):
        raise ValueError(f"download: file name {name!r} is absolute or contains '..'; a name "
                         "must stay inside the cache folder")


def _hashers(spec: Mapping[str, str]) -> dict[str, Any]:
    algorithms = [a for a in _ALGORITHMS if a in spec]
    if not algorithms:
        raise ValueError(
            f"download: file {spec.get('name')!r} needs a 'sha256' or 'md5' checksum. "
            f"Received: {dict(spec)}"
        )
    return {a: hashlib.new(a) for a in algorithms}


def _mismatches(spec: Mapping[str, str], hashers: Mapping[str, Any]) -> list[str]:
    """One line per digest that differs from ``spec``; empty when all match."""
    found = {a: h.hexdigest() for a, h in hashers.items()}
    return [
        f"{a} expected {spec[a].lower()}, found {found[a]}"
        for a in hashers
        if found[a] != spec[a].lower()
    ]


def checksum_mismatches(path: str | os.PathLike[str], spec: Mapping[str, str]) -> list[str]:
    """Check the file at ``path`` against the digests in ``spec``.

    Returns:
        One line per mismatching digest (empty when the file is good).
    """
    hashers = _hashers(spec)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return _mismatches(spec, hashers)


_MIN_BYTES = 1024
"""A body that brings fewer bytes than this in ``timeout`` seconds is stalled (a trickle)."""


class _Watchdog:
    """Cuts a download's sockets off once ``seconds`` have passed, wherever it is blocked:
    a server trickling its headers a byte at a time keeps every read within the socket
    timeout, and ``urlopen`` reads the headers before the caller sees any of it."""

    def __init__(self, seconds: float) -> None:
        import threading

        self.expired = False
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True

    def watch(self, sock: Any) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._cut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._cut(sock)

    @staticmethod
    def _cut(sock: Any) -> None:
        import socket

        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)  # a blocked recv returns at once

    def cancel(self) -> None:
        """Stand down (the watched part is over)."""
        self._timer.cancel()

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _opener(watchdogs: Sequence[_Watchdog]) -> Any:
    """A urllib opener whose connections register their sockets with ``watchdogs``."""
    import http.client
    import urllib.request

    class Watched(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            for watchdog in watchdogs:
                watchdog.watch(self.sock)

    class WatchedTLS(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            for watchdog in watchdogs:
                watchdog.watch(self.sock)

    class Handler(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(Watched, req)

    class TLSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(WatchedTLS, req, context=self._context)

    return urllib.request.build_opener(Handler, TLSHandler)


_ANSWER_TIMEOUTS = 4
"""The status line and headers must all arrive within this many ``timeout``s (connecting
and any redirects included)."""


def _fetch(url: str, target: Path, spec: Mapping[str, str], timeout: float,
           deadline: float) -> None:
    """Stream ``url`` into ``target`` atomically, or raise without leaving a file.

    ``deadline`` bounds the whole of it (connecting, the headers, the body) however the
    server behaves; the headers must arrive within ``_ANSWER_TIMEOUTS * timeout``, and a
    body slower than ``_MIN_BYTES`` per ``timeout`` seconds is stalled.
    """
    import http.client

    answer_limit = min(deadline, _ANSWER_TIMEOUTS * timeout)
    with _Watchdog(deadline) as overall, _Watchdog(answer_limit) as answer:
        try:
            _stream(url, target, spec, timeout, overall, answer)
        except (OSError, EOFError, ValueError, http.client.HTTPException) as err:
            why = str(err) or type(err).__name__
            if overall.expired:
                raise TimeoutError(f"deadline of {deadline:g} s passed: {why}") from None
            if answer.expired:
                raise TimeoutError(f"no complete answer (status and headers) within "
                                   f"{answer_limit:g} s: {why}") from None
            raise


def _stream(url: str, target: Path, spec: Mapping[str, str], timeout: float,
            overall: _Watchdog, answer: _Watchdog) -> None:
    """``_fetch``'s reading, cut off by the two watchdogs."""
    # Imported here: urllib.request and http.client take ~60 ms to import, and only a
    # download needs them.
    import http.client

    hashers = _hashers(spec)
    with _opener([overall, answer]).open(url, timeout=timeout) as response, \
            atomic_open(target) as f:
        answer.cancel()
        if answer.expired:
            raise TimeoutError("cut off")
        declared = response.headers.get("Content-Length")
        expected = int(declared) if declared and declared.isdigit() else None
        of = f" of {expected}" if expected is not None else ""
        received = 0
        window_start, window_bytes = time.monotonic(), 0
        while True:
            try:
                # read1 returns what has arrived, so the rate is checked between reads.
                chunk = response.read1(_CHUNK)
            except http.client.IncompleteRead as err:
                received += len(err.partial)
                chunk = b""
            if overall.expired:
                raise TimeoutError(f"got {received}{of} bytes")
            if not chunk:
                break
            received += len(chunk)
            window_bytes += len(chunk)
            f.write(chunk)
            for h in hashers.values():
                h.update(chunk)
            now = time.monotonic()
            if now - window_start >= timeout:
                if window_bytes < _MIN_BYTES:
                    raise TimeoutError(
                        f"stalled: {window_bytes} bytes in {now - window_start:.1f} s (under "
                        f"{_MIN_BYTES} per timeout of {timeout:g} s); got {received}{of} bytes")
                window_start, window_bytes = now, 0
        if expected is not None and received != expected:
            raise _ChecksumMismatch(f"truncated: got {received} of {expected} bytes")
        bad = _mismatches(spec, hashers)
        if bad:  # raised inside atomic_open, so the temporary file is deleted
            raise _ChecksumMismatch("checksum mismatch: " + "; ".join(bad))


def _download(
    spec: Mapping[str, str], mirrors: Sequence[str], folder: Path, timeout: float,
    deadline: float,
) -> None:
    """Fetch one file from the first mirror that delivers it intact."""
    import http.client
    import urllib.error

    failures = []
    for mirror in mirrors:
        url = mirror + spec["name"]
        try:
            _fetch(url, folder / spec["name"], spec, timeout, deadline)
            return
        except urllib.error.HTTPError as err:  # "HTTP Error 404: Not Found"
            failures.append(f"  {url}: {err}")
        except urllib.error.URLError as err:  # "[Errno 111] Connection refused"
            failures.append(f"  {url}: {err.reason}")
        except (_ChecksumMismatch, OSError, http.client.HTTPException) as err:
            failures.append(f"  {url}: {str(err) or type(err).__name__}")
    tried = "\n".join(failures) or "  (no mirrors given)"
    raise DownloadError(
        f"Could not download {spec['name']} into {folder}. Tried:\n{tried}\n"
        f"Download it by hand into that folder, or pass root= a folder that holds it."
    )


def download_files(
    files: Sequence[Mapping[str, str]],
    mirrors: Sequence[str],
    folder: str | os.PathLike[str],
    timeout: float = 30.0,
    deadline: float = 600.0,
) -> list[Path]:
    """Make sure every file in ``files`` is in ``folder`` with the right checksum.

    Files already present and intact are kept; missing or corrupt ones are downloaded
    from the first mirror that delivers them intact.

    Args:
        files: one dict per file: ``"name"`` and a ``"sha256"`` and/or ``"md5"`` digest.
        mirrors: base URLs, each ending in ``/``, tried in order.
        folder: the cache folder; created when missing.
        timeout: seconds to wait for a mirror to answer, and for each read; a body
            arriving slower than 1 KiB per ``timeout`` seconds is stalled, and given up.
        deadline: seconds one file may take from one mirror in all (connecting, headers
            and body), however steadily the server trickles bytes; then the next mirror
            is tried. The status line and headers must arrive within ``4 * timeout``
            (a server trickling them is given up then).

    Returns:
        The paths of the files, in the order of ``files``.

    Raises:
        ValueError: a file name is absolute or climbs out of ``folder`` (``..``).
        DownloadError: some file could not be had from any mirror; the message names
            every URL tried and why it failed (a short body is "truncated: got N of M
            bytes").
    """
    for spec in files:
        _check_name(spec.get("name"))
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    for spec in files:
        target = folder / spec["name"]
        if not target.is_file() or checksum_mismatches(target, spec):
            _download(spec, mirrors, folder, timeout, deadline)
    return [folder / spec["name"] for spec in files]
