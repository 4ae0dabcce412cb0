"""Open a text problem file that may be gzip-compressed, with LF or CRLF line endings."""

from __future__ import annotations

import errno
import gzip
import os
import zlib
from pathlib import Path

from scotopt.io.errors import FileFormatError

GZIP_MAGIC = b"\x1f\x8b"


def existing_file(path) -> Path:
    """``path`` as a Path; FileNotFoundError if missing, FileFormatError if it is a directory."""
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, f"file not found: {path}", str(path))
    if path.is_dir():
        raise FileFormatError(path, None, "is a directory", "a file")
    return path


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_bytes(path: Path):
    """A binary handle on the file's text: gzip read through where the contents are gzip (told
    from the first bytes, not the name)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def uncompressed_size(path: Path) -> int:
    """Size of the file's text in bytes: the gzip trailer's ISIZE (mod 2**32) or the file size."""
    size = path.stat().st_size
    if size >= 18 and is_gzip(path):
        with open(path, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            isize = int.from_bytes(fh.read(4), "little")
        # ISIZE wraps at 4 GiB; the compressed size is a floor for the text.
        return max(isize, size)
    return size


def read_lines(path: Path) -> list[str]:
    """The file's lines without their endings (gzip detected from the contents, not the name).

    Raises FileFormatError for a corrupt gzip stream and for binary data (a NUL byte), naming
    the line where it appears. Bytes are decoded as Latin-1, which accepts every byte, so names
    with accents survive and no decoding error can hide the real problem.
    """
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileFormatError(path, None, f"corrupt or truncated gzip data ({exc})", "a valid gzip stream") from exc
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise FileFormatError(path, line, "binary data (a NUL byte)", "a text file")
    return raw.decode("latin-1").splitlines()
