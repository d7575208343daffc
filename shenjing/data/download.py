"""Downloading data files from a list of mirrors into a cache, checking their checksums.

A file is described by a dict: ``{"name": "train-images-idx3-ubyte.gz", "sha256": ...}``
(``"md5"`` works too; every digest given is checked). For each file not already in the
cache with the right digest, each mirror ``base_url + name`` is tried in turn; the bytes
stream into a temporary file in the cache folder while being hashed, and only a file
whose digests match is renamed into place. When no mirror delivers, ``DownloadError``
names every mirror tried and what went wrong there.
"""

from __future__ import annotations

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


def _fetch(url: str, target: Path, spec: Mapping[str, str], timeout: float,
           deadline: float) -> None:
    """Stream ``url`` into ``target`` atomically, or raise without leaving a file.

    After ``deadline`` seconds in all, a server that keeps sending a trickle (each read
    within ``timeout``) is cut off.
    """
    # Imported here: urllib.request and http.client take ~60 ms to import, and only a
    # download needs them.
    import http.client
    import urllib.request

    hashers = _hashers(spec)
    end = time.monotonic() + deadline
    with urllib.request.urlopen(url, timeout=timeout) as response, atomic_open(target) as f:
        declared = response.headers.get("Content-Length")
        expected = int(declared) if declared and declared.isdigit() else None
        received = 0
        while True:
            if time.monotonic() > end:
                of = f" of {expected}" if expected is not None else ""
                raise TimeoutError(f"deadline of {deadline:g} s passed: got {received}{of} bytes")
            try:
                # read1 returns what has arrived, so the deadline is checked between them.
                chunk = response.read1(_CHUNK)
            except http.client.IncompleteRead as err:
                received += len(err.partial)
                chunk = b""
            if not chunk:
                break
            received += len(chunk)
            f.write(chunk)
            for h in hashers.values():
                h.update(chunk)
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
        timeout: seconds to wait for a mirror to answer, and for each read.
        deadline: seconds one file may take from one mirror in all, however steadily the
            server trickles bytes; then the next mirror is tried.

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
