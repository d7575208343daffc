"""IDX files: round trips, the exact byte layout, clear errors on bad files, atomic writes."""

from __future__ import annotations

import gzip
import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from shenjing.data import read_idx, write_idx

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]
SHAPES = [(7,), (3, 4), (2, 5, 3), (1, 1, 1, 2)]


def _sample(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if dtype.startswith(("int", "uint")) else None
    if info is not None:
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(tmp_path: Path, dtype: str, shape: tuple[int, ...], compress: bool) -> None:
    array = _sample(dtype, shape)
    path = tmp_path / "a.idx"
    write_idx(path, array, compress=compress)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == shape
    assert back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_big_endian_input_round_trips(tmp_path: Path) -> None:
    array = np.arange(6, dtype=">i4").reshape(2, 3)
    write_idx(tmp_path / "a", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), array)


@pytest.mark.parametrize(
    ("dtype", "code"),
    [("uint8", 0x08), ("int8", 0x09), ("int16", 0x0B), ("int32", 0x0C),
     ("float32", 0x0D), ("float64", 0x0E)],
)
def test_raw_bytes_follow_the_format(tmp_path: Path, dtype: str, code: int) -> None:
    """Magic 00 00 <code> <ndim>, big-endian uint32 sizes, big-endian C-order payload."""
    array = _sample(dtype, (2, 3))
    write_idx(tmp_path / "a", array, compress=False)
    expected = bytes([0, 0, code, 2]) + struct.pack(">II", 2, 3)
    expected += array.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    assert (tmp_path / "a").read_bytes() == expected


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "compressed.raw", array, compress=True)
    write_idx(tmp_path / "plain.gz", array, compress=False)
    assert (tmp_path / "compressed.raw").read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(tmp_path / "compressed.raw"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), array)


def test_compressed_output_is_reproducible(tmp_path: Path) -> None:
    array = np.arange(100, dtype=np.uint8)
    write_idx(tmp_path / "a", array)
    write_idx(tmp_path / "b", array)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def _raw_file(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "images-idx3-ubyte"
    write_idx(path, np.zeros((4, 5, 6), dtype=np.uint8), compress=False)
    return path, path.read_bytes()


def test_truncated_payload_names_file_and_byte_counts(tmp_path: Path) -> None:
    path, data = _raw_file(tmp_path)
    path.write_bytes(data[:-10])
    with pytest.raises(ValueError, match=r"images-idx3-ubyte is truncated.*expected 120 .*found 110"):
        read_idx(path)


def test_truncated_gzipped_payload_is_caught(tmp_path: Path) -> None:
    path, data = _raw_file(tmp_path)
    path.write_bytes(gzip.compress(data[:-1]))
    with pytest.raises(ValueError, match="expected 120 .*found 119"):
        read_idx(path)


def test_trailing_bytes_are_reported(tmp_path: Path) -> None:
    path, data = _raw_file(tmp_path)
    path.write_bytes(data + b"\0\0")
    with pytest.raises(ValueError, match="trailing bytes.*expected 120 .*found 122"):
        read_idx(path)


def test_cut_gzip_stream_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "a.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 255, 5000).astype(np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"a\.gz is a corrupt or truncated gzip file"):
        read_idx(path)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"\x00\x00", r"too short.*expected at least 4 bytes, found 2"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 0), "not an IDX file.*0x01 0x00"),
        (b"PK\x03\x04", "not an IDX file"),
        (b"\x00\x00\x0a\x01" + struct.pack(">I", 0), "unknown IDX dtype code 0x0A"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 1), r"truncated header.*expected 16 .*found 8"),
    ],
    ids=["short", "bad-magic", "zip-file", "bad-dtype", "short-header"],
)
def test_bad_headers_are_reported(tmp_path: Path, header: bytes, message: str) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(header)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_unsupported_dtype_is_rejected_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot store dtype int64"):
        write_idx(tmp_path / "a", np.arange(3))
    assert list(tmp_path.iterdir()) == []


def test_write_leaves_only_the_target(tmp_path: Path) -> None:
    write_idx(tmp_path / "a.gz", np.arange(3, dtype=np.uint8))
    write_idx(tmp_path / "a.gz", np.arange(5, dtype=np.uint8))  # replaces
    assert [p.name for p in tmp_path.iterdir()] == ["a.gz"]
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), np.arange(5))


def test_failed_write_keeps_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.gz"
    write_idx(path, np.arange(3, dtype=np.uint8))
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_idx(path, np.arange(9, dtype=np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["a.gz"]
    assert path.read_bytes() == before


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path: Path) -> None:
    path = tmp_path / "bomb.gz"
    header = b"\x00\x00\x08\x01" + struct.pack(">I", 16)
    with gzip.open(path, "wb") as f:  # 16 declared bytes, 64 MiB inflated
        f.write(header)
        for _ in range(64):
            f.write(bytes(1 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"bomb\.gz has trailing bytes.*expected 16 "):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_a_header_declaring_more_than_the_file_holds_allocates_only_what_arrives(
        tmp_path: Path) -> None:
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x02" + struct.pack(">II", 2**31, 2**31)))
    with pytest.raises(ValueError, match=r"is truncated: expected 4611686018427387904 .*found 0"):
        read_idx(path)
