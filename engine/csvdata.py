"""A series read from one column of a CSV file: checked cell by cell, normalised, cut in windows.

Read with the standard :mod:`csv` module (comma-separated, UTF-8). A first row made only of
non-numbers (and empty cells) is a header. Every problem is one :class:`~engine.types.ScenarioError` naming the
CSV file, the line and the column, e.g.::

    data/prices.csv:812: column 'close' (1): 'n/a' is not a number

The normalisation is kept with the series (:class:`Normalization`), so values the model reads
and writes can always be turned back into the file's own units. See docs/data.md.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .types import ScenarioError

__all__ = ["MAX_BYTES", "MAX_ROWS", "MAX_ABS", "NORMALIZE", "CsvColumn", "Normalization",
           "fit_normalization", "read_column", "read_bytes"]

#: The largest CSV file read (bytes).
MAX_BYTES = 16 * 1024 * 1024
#: The most data rows read (the most points a series may have).
MAX_ROWS = 200_000
#: Largest magnitude of a value in the file (larger ones are refused, not rounded).
MAX_ABS = 1e12
NORMALIZE = ("zscore", "minmax", "none")

_NUM = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(f"^{_NUM}$")
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_MISSING = {"", "nan", "na", "n/a", "null", "none", "-", "?"}


@dataclass(frozen=True)
class Normalization:
    """``z = (v - shift) / scale``: what the model sees, from the file's value ``v``.

    zscore: shift = mean, scale = standard deviation (population); minmax: shift = min,
    scale = max - min (values in [0, 1]); none: shift 0, scale 1.
    """

    method: str
    shift: float
    scale: float

    def apply(self, values) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.shift) / self.scale

    def invert(self, z) -> np.ndarray:
        """Back to the file's units: ``v = shift + scale * z``."""
        return self.shift + self.scale * np.asarray(z, dtype=np.float64)

    def describe(self, name: str = "v") -> str:
        """One line for the screen, e.g. ``zscore: x = (temp - 12.3) / 4.56``."""
        if self.method == "none":
            return f"none: the model reads {name} as it is in the file"
        return f"{self.method}: x = ({name} − {self.shift:.6g}) / {self.scale:.6g}"


def fit_normalization(method: str, values: np.ndarray) -> Normalization:
    """The normalisation ``method`` fitted to ``values`` (ValueError when it cannot be:
    a constant column has no spread to divide by)."""
    v = np.asarray(values, dtype=np.float64)
    if method == "none":
        return Normalization("none", 0.0, 1.0)
    if method == "zscore":
        shift, scale = float(v.mean()), float(v.std())
    elif method == "minmax":
        shift, scale = float(v.min()), float(v.max() - v.min())
    else:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZE)}, got {method!r}")
    if not (scale > 0 and math.isfinite(scale)) \
            or not np.isfinite((v - shift) / scale).all():
        lo, hi = float(v.min()), float(v.max())
        if lo == hi:
            raise ValueError(f"every value is {lo:g}, so {method} has nothing to divide by; "
                             f'use normalize = "none"')
        # (the spread underflows: the standard deviation of 1e-300, -1e-300, 0 is 0 in float64)
        raise ValueError(f"the values differ by at most {hi - lo:g}, too little for {method} "
                         f"to divide by in floating point; scale the column up in the file, "
                         f'or use normalize = "none"')
    return Normalization(method, shift, scale)


@dataclass(frozen=True)
class CsvColumn:
    """One column of a CSV file, as read: its values, their line numbers, and its name."""

    path: str
    name: str          # the header's name, or "column N" without a header
    index: int         # 0-based
    header: bool       # the first row was a header
    values: np.ndarray  # float64, in file order
    lines: np.ndarray   # the line of each value (1-based)
    cells: list[str] | None = None  # each value as the file writes it (stripped)


def read_bytes(path: Path, shown: str, max_bytes: int | None = None,
               what: str = "a data file") -> bytes:
    """The file's bytes (at most ``max_bytes``, default MAX_BYTES), or one ScenarioError
    naming ``shown``: missing, a directory, not a regular file (a FIFO or a device is refused
    without being read: :func:`engine.files.read_regular`), unreadable, or over the size."""
    from .files import FileReadError, read_regular
    limit = MAX_BYTES if max_bytes is None else int(max_bytes)
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        st = None  # (read_regular says what is wrong)
    if st is not None and stat.S_ISREG(st.st_mode) and st.st_size > limit:
        raise ScenarioError(f"the file is {st.st_size} bytes; {what} may be at most {limit} "
                            f"bytes ({limit / (1 << 20):g} MiB)", path=shown)
    try:
        return read_regular(path, limit)
    except FileReadError as e:
        message = str(e)
    if message == "no such file":
        message = "no such file (the path is relative to the scenario file)"
    elif message.startswith("is a directory"):
        message = f"is a directory, not {what}"
    raise ScenarioError(message, path=shown)


def decode_utf8(data: bytes, shown: str) -> str:
    """UTF-8 text (a BOM is dropped), or ScenarioError naming the line of the first bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError("the file is UTF-16 text; save it as UTF-8", path=shown)
    data = data.removeprefix(b"\xef\xbb\xbf")
    zero = data.find(b"\x00")
    if zero >= 0:
        raise ScenarioError("the file contains a zero byte, so it is not UTF-8 text (a binary "
                            "file?)", path=shown, line=data.count(b"\n", 0, zero) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(f"the file is not UTF-8 text (byte 0x{data[e.start]:02x} cannot be "
                            f"read); save it as UTF-8", path=shown,
                            line=data.count(b"\n", 0, e.start) + 1) from None


def _short(cell: str) -> str:
    from ._scenario_checks import quote
    return quote(cell)


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell.strip()))


def read_column(path: Path | None, column: str | int, shown: str | None = None,
                data: bytes | None = None) -> CsvColumn:
    """The numbers of ``column`` (a header name, or a 0-based index) of the CSV file ``path``
    (or its bytes, ``data``).

    ``shown`` is how the file is named in errors (default: the path). Blank lines are skipped;
    every other row must have the column, holding a finite number with |value| <= MAX_ABS.
    """
    shown = str(path) if shown is None else shown
    text = decode_utf8(read_bytes(path, shown) if data is None else data, shown)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as e:
        raise ScenarioError(f"not readable as CSV: {e}", path=shown,
                            line=reader.line_num or None) from None
    if len(records) == text.count("\n") + (not text.endswith("\n")):
        line_of = list(range(1, len(records) + 1))  # one record a line (no quoted line breaks)
    else:  # a quoted cell spans lines: number the records the slow way
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        records, line_of = [], []
        for row in reader:
            records.append(row)
            line_of.append(reader.line_num)
    if [] in records or [""] in records:  # blank lines are skipped
        keep = [i for i, row in enumerate(records) if row and (len(row) > 1 or row[0].strip())]
        records = [records[i] for i in keep]
        line_of = [line_of[i] for i in keep]
    rows = records
    if len(rows) > MAX_ROWS + 1:
        raise ScenarioError(f"the file has more than {MAX_ROWS} rows, the most a series may "
                            f"have", path=shown, line=line_of[MAX_ROWS + 1])
    if not rows:
        raise ScenarioError("the file has no rows", path=shown)

    first_line, first = line_of[0], rows[0]
    # a header: names only (no cell of it a number; empty cells, as spreadsheets leave at the
    # end of a row, are allowed)
    header = any(c.strip() for c in first) and not any(_is_number(c) for c in first)
    names = [c.strip() for c in first] if header else []
    if isinstance(column, str):
        if not header:
            raise ScenarioError(f"column = {_short(column)} names a column, but the first row "
                                f"holds numbers, so there is no header; give the column as a "
                                f"0-based index", path=shown, line=first_line)
        if column.strip() not in names:
            from ._scenario_checks import suggest
            listed = ", ".join(_short(n) for n in names[:20])
            raise ScenarioError(f"no column named {_short(column)}{suggest(column, names)} "
                                f"(the header has: {listed})", path=shown, line=first_line)
        index = names.index(column.strip())
        name = names[index]
    else:
        index = int(column)
        width = len(first)
        if index >= width:
            raise ScenarioError(f"column {index} is missing: the first row has {width} "
                                f"column{'s' if width != 1 else ''} (0 to {width - 1})",
                                path=shown, line=first_line)
        name = names[index] if header else f"column {index}"
    body = rows[1:] if header else rows
    body_lines = line_of[1:] if header else line_of
    if len(body) > MAX_ROWS:
        raise ScenarioError(f"the file has {len(body)} data rows; a series may have at most "
                            f"{MAX_ROWS}", path=shown)
    where = f"column {_short(name)} ({index})" if header else f"column {index}"
    try:
        cells = [row[index].strip() for row in body]
    except IndexError:
        i = next(i for i, row in enumerate(body) if index >= len(row))
        n = len(body[i])
        raise ScenarioError(f"{where} is missing: this row has only {n} "
                            f"column{'s' if n != 1 else ''}", path=shown,
                            line=body_lines[i]) from None
    lines = np.asarray(body_lines, dtype=np.int64)
    # the usual case at C speed: only digits, signs, points and exponents in the cells, each
    # a number NumPy reads, all finite and in range; anything else is found cell by cell
    # below, for its message
    if cells and set("".join(cells)) <= _NUMBER_CHARS:
        try:
            values = np.array(cells, dtype=np.float64)
        except ValueError:
            values = None
        if values is not None and bool((np.abs(values) <= MAX_ABS).all()):
            return CsvColumn(path=shown, name=name, index=index, header=header, values=values,
                             lines=lines, cells=cells)
    values = np.empty(len(body))
    for i, cell in enumerate(cells):
        line = int(lines[i])
        if cell.lower() in _MISSING:
            what = "an empty cell" if not cell else f"a missing value ({_short(cell)})"
            raise ScenarioError(f"{where}: {what}; every row needs a number (remove the row "
                                f"or fill it in)", path=shown, line=line)
        if not _NUMBER.match(cell):
            low = cell.lower().lstrip("+-")
            if low in ("inf", "infinity"):
                raise ScenarioError(f"{where}: {_short(cell)} is not a finite number",
                                    path=shown, line=line)
            raise ScenarioError(f"{where}: {_short(cell)} is not a number", path=shown, line=line)
        v = float(cell)
        if not math.isfinite(v) or abs(v) > MAX_ABS:
            raise ScenarioError(f"{where}: {_short(cell)} is too large (the most is "
                                f"{MAX_ABS:g} in size)", path=shown, line=line)
        values[i] = v
    return CsvColumn(path=shown, name=name, index=index, header=header, values=values,
                     lines=lines, cells=cells)


# ---------------------------------------------------------------------------------------------
# the [data] section of a series read from a file

#: The [data] keys of a CSV series (with ``csv`` itself); the generated series' keys do not apply.
CSV_KEYS = ("csv", "column", "normalize", "window")
_GENERATED = ("function", "points", "step", "amplitude", "frequency", "noise", "seed")


def data_bytes(ck, name: str, max_bytes: int, what: str) -> tuple[bytes, str]:
    """(the bytes of the data file ``name`` gives, how errors name it): the file next to the
    scenario file, or the bytes carried with the text (``ck.carried``: a recording's), for
    which no path is made."""
    if ck.carried is None:
        path = data_path(ck.source, name)
        return read_bytes(path, str(path), max_bytes, what), str(path)
    data = ck.carried.get(name)
    if data is None:
        raise ScenarioError(f"its data file {name[:80]!r} is not carried with it, and no "
                            f"file of this machine is read for it", path=ck.source)
    if len(data) > max_bytes:
        raise ScenarioError(f"the file is {len(data)} bytes; {what} may be at most {max_bytes} "
                            f"bytes", path=name)
    return data, name


def data_path(source: str, name: str) -> Path:
    """``name`` (from [data]) relative to the folder of the scenario file ``source``."""
    p = Path(name)
    if p.is_absolute():
        return p
    return Path(source).parent / p


def build_series(ck, data: dict, precheck) -> dict:
    """The Scenario fields of ``kind = "series"`` with ``[data] csv = "file.csv"``."""
    from ._data_common import _series_sequence
    d = ("data",)
    for key in _GENERATED:
        if key in data:
            ck.fail(d + (key,), f"does not apply to a series read from a file ([data].csv); "
                                f"remove it")
    name = ck.string(data, d + ("csv",), allow_empty=False, max_len=4096)
    raw = data.get("column", 0)
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        ck.fail(d + ("column",), f"must be a header name or a 0-based index, got "
                                 f"{_describe(raw)}")
    if isinstance(raw, int):
        column = ck.integer(data, d + ("column",), 0, lo=0, hi=100_000)
    else:
        column = ck.string(data, d + ("column",), allow_empty=False, max_len=200)
    method = ck.choice(data, d + ("normalize",), NORMALIZE, "zscore")
    window = ck.integer(data, d + ("window",), 20, lo=2, hi=MAX_ROWS)
    raw, path = data_bytes(ck, name, MAX_BYTES, "a data file")
    col = read_column(None, column, shown=path, data=raw)
    n = len(col.values)
    if n - 1 < window:
        last = int(col.lines[-1]) if n else None
        raise ScenarioError(f"{n} value{'s' if n != 1 else ''} in column {_short(col.name)}: too "
                            f"few for window = {window} (a window of inputs needs one more value "
                            f"for its target: at least {window + 1} rows)", path=str(path),
                            line=last)
    try:
        norm = fit_normalization(method, col.values)
    except ValueError as e:
        ck.fail(d + ("normalize",), f"{path}: {e}")
    precheck(1, 1, n - 1, {window: (n - 1) // window}, "csv")
    z = norm.apply(col.values)
    # the labels are the file's own numbers, as it writes them (long ones rounded)
    labels = [c if len(c) <= 10 else f"{v:.6g}" for c, v in zip(col.cells, col.values.tolist())]
    train = []
    for k in range((n - 1) // window):
        part = slice(k * window, k * window + window + 1)
        train.append(_series_sequence(z[part], labels[part]))
    return {
        "input_size": 1, "output_size": 1, "train_sequences": train,
        "sequence": _series_sequence(z, labels),
        "data": {"csv": str(path), "column": col.name, "column_index": col.index,
                 "header": col.header, "normalize": method, "normalization": norm,
                 "window": window, "points": n, "values": z, "original": col.values,
                 "units": col.name},
    }


def _describe(value) -> str:
    from ._scenario_checks import describe
    return describe(value)


def normalization_of(scenario) -> Normalization | None:
    """The normalisation of a CSV series scenario, else None."""
    norm = getattr(scenario, "data", {}).get("normalization")
    return norm if isinstance(norm, Normalization) else None
