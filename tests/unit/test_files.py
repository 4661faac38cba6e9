"""engine.files.read_regular: a FIFO, a device, a directory or an oversized file is refused
at once, with a sentence, instead of hanging or reading without end."""

import os

import pytest

from engine.files import FileReadError, read_regular


def test_reads_a_regular_file(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"hello\n")
    assert read_regular(p, 6) == b"hello\n"


def test_over_the_cap_is_refused_before_reading(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"x" * 100)
    with pytest.raises(FileReadError, match="100 bytes; at most 99"):
        read_regular(p, 99)


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileReadError, match="not a regular file"):
        read_regular(fifo, 1000)


def test_symlink_to_dev_zero_is_refused(tmp_path):
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")
    with pytest.raises(FileReadError, match="not a regular file"):
        read_regular(link, 1000)


@pytest.mark.parametrize("name, words", [("missing", "no such file"), ("", "directory")])
def test_missing_and_directory(tmp_path, name, words):
    with pytest.raises(FileReadError, match=words):
        read_regular(tmp_path / name if name else tmp_path, 10)


def test_a_scenario_file_swapped_for_a_fifo_after_its_check_is_refused(tmp_path, monkeypatch):
    """engine.scenario checks a path with stat and then reads it: the read itself refuses a
    FIFO put in the file's place between the two (it blocked for ever)."""
    import engine.scenario as scenario_module
    from engine.types import ScenarioError

    path = tmp_path / "mine.toml"
    path.write_text("[scenario]\nname = 'mine'\n")
    real_stat = type(path).stat

    def stat_then_swap(self, *a, **k):
        st = real_stat(self, *a, **k)
        if self == path:
            path.unlink()
            os.mkfifo(path)
        return st

    monkeypatch.setattr(type(path), "stat", stat_then_swap)
    with pytest.raises(ScenarioError, match="not a regular file"):
        scenario_module.load(str(path))
