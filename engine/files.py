"""Reading a local file safely: a regular file only, never more than a stated number of bytes.

A path can name a FIFO (reading it blocks for ever), a device (``/dev/zero`` reads for ever),
a directory or a symlink to any of these. ``read_regular`` opens without blocking, checks what
the opened descriptor is (so a file swapped after a ``stat`` cannot slip through), refuses
anything but a regular file, and reads at most ``max_bytes + 1`` bytes so an oversized file is
refused without being read whole.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["FileReadError", "read_regular"]


class FileReadError(Exception):
    """A file could not be read as data: ``str(e)`` is one plain sentence, without the path."""


def read_regular(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``; FileReadError when it is missing, is not a
    regular file (directory, FIFO, device, socket), cannot be read, or is over ``max_bytes``."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileReadError("no such file") from None
    except IsADirectoryError:
        raise FileReadError("is a directory, not a file") from None
    except PermissionError:
        raise FileReadError("cannot read this file: permission denied") from None
    except ValueError as e:  # a NUL in the name
        raise FileReadError(f"not a usable file name ({e})") from None
    except OSError as e:
        raise FileReadError(f"cannot read this file: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise FileReadError("is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise FileReadError("is not a regular file (a pipe, device or socket)")
        if st.st_size > max_bytes:
            raise FileReadError(f"the file is {st.st_size} bytes; at most {max_bytes} are read")
        # a regular file never blocks; clear O_NONBLOCK anyway so reads behave as usual
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as e:
        raise FileReadError(f"cannot read this file: {e.strerror or e}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise FileReadError(f"the file grew past {max_bytes} bytes while it was read")
    return data
