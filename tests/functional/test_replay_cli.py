"""The command line of recordings: --record on the app, present and learn, and rnntui replay's
one-line refusals (exit 2, no traceback)."""

from __future__ import annotations

import pytest

from rnntui.cli import main


@pytest.mark.parametrize("cmd", [[], ["present"], ["learn"]])
def test_record_is_an_option_of_the_app_present_and_learn(cmd, capsys):
    assert main([*cmd, "--help"]) == 0
    assert "--record FILE" in capsys.readouterr().out


def test_record_into_a_folder_that_is_not_there_fails_in_one_line(tmp_path, capsys):
    assert main(["cat", "--record", str(tmp_path / "no" / "x.rec")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rnntui: --record ") and "cannot write" in err[0]


@pytest.mark.parametrize("content, why", [
    (None, "no such file"),
    (b"", "empty: not a recording"),
    (b'{"format": "rnntui-recording", "version": 9}\n', "version 9"),
    (b'\x1b]0;title\x07\n', "not a JSON object"),
])
@pytest.mark.parametrize("reader", [[], ["--reader"]])
def test_replay_refuses_a_bad_recording_in_one_line(tmp_path, capsys, content, why, reader):
    path = tmp_path / "r.rec"
    if content is not None:
        path.write_bytes(content)
    assert main(["replay", str(path), *reader]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and why in err[0] and "\x1b" not in err[0], err


def test_reader_mode_is_an_option_of_follow_and_replay_but_not_with_asciicast(tmp_path, capsys):
    for cmd in (["follow"], ["replay"]):
        assert main([*cmd, "--help"]) == 0
        assert "--reader" in capsys.readouterr().out
    assert main(["replay", str(tmp_path / "r.rec"), "--reader", "--asciicast", "o.cast"]) == 2
    assert "--reader and --asciicast do not go together" in capsys.readouterr().err


def test_replay_refuses_a_bad_size(tmp_path, capsys):
    assert main(["replay", str(tmp_path / "r.rec"), "--asciicast", "o.cast",
                 "--size", "9999x1"]) == 2
    assert "--size must be COLSxROWS" in capsys.readouterr().err
