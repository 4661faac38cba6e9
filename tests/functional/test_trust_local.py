"""Issue 25, the app's side of the local trust boundary: text from a file never reaches the
terminal raw (the w dialog's prime box), and Ctrl+C quits from anywhere, a box one types in too."""

from __future__ import annotations

from helpers import press_and_settle, settle, wait_until
from textual.widgets import Input

from rnntui.screens.generate import GenerateScreen
from rnntui.screens.main import MainScreen

OSC = "\x1b]0;pwned\x07"  # an OSC sequence that retitles the terminal (BEL-terminated)
ESC_SCENARIO = f'''[scenario]
name = "esc"
kind = "text"
[model]
hidden_size = 4
[train]
epochs = 2
[data]
unit = "word"
text = ["the \\u001b]0;pwned\\u0007 sits", "the dog sits"]
prompt = "the \\u001b]0;pwned\\u0007 sits"
'''


async def test_the_prime_box_shows_control_characters_visibly_and_writes_the_real_prime(
        app_factory, tmp_path):
    path = tmp_path / "esc.toml"
    path.write_text(ESC_SCENARIO)
    app = app_factory(str(path), train=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press_and_settle(pilot, ["right", "w"])  # t = 1: the prime is "the <OSC>"
        dialog = app.screen
        assert isinstance(dialog, GenerateScreen)
        box = dialog.query_one("#gen-prime", Input)
        assert box.value == "the ␛]0;pwned\\x07"
        assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f for c in box.value)
        # untouched, the box stands for the sequence's own tokens; edited, its escapes too
        assert dialog.prime_typed(box.value) == f"the {OSC}"
        assert dialog.prime_typed("␛]0;pwned\\x07 the") == f"{OSC} the"
        await press_and_settle(pilot, ["enter"])
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), "the writing ends")
        tokens = app.main_screen.view.sequence.tokens
        assert tokens[:2] == ["the", OSC]


async def test_ctrl_c_quits_even_from_a_box_one_types_in(app_factory):
    """(A priority binding of the app: the main screen and every dialog alike; in a text box
    Textual's own Ctrl+C copies, and it did nothing there.)"""
    app = app_factory("king", train=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press_and_settle(pilot, ["w"])  # the length box has the focus
        assert isinstance(app.focused, Input)
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: not app.is_running or app.return_code is not None,
                         "the app quits")
    assert app.return_code == 0


async def test_ctrl_c_in_a_browser_tab_says_how_to_quit(app_factory, monkeypatch):
    """In a tab of rnntui serve Ctrl+C is the copy key: a reflex must not end the session."""
    from rnntui import served
    monkeypatch.setenv(served.ENV, served.BROWSER)
    app = app_factory("king", train=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press_and_settle(pilot, ["w", "ctrl+c"])
        assert app.is_running and app.return_code is None
        assert [n.message for n in app._notifications] == [
            "Press q to quit (Ctrl+Q from inside a box you type in)."]


def test_generate_prints_words_and_a_column_name_with_control_characters_visible(
        tmp_path, capsys):
    from rnntui.cli import main
    path = tmp_path / "esc.toml"
    path.write_text(ESC_SCENARIO)
    # greedy from a prime ending in the OSC word: the network writes what it learnt after it
    assert main(["generate", str(path), "--prime", f"the {OSC}", "--length", "3",
                 "--temperature", "0", "--epochs", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("the ␛]0;pwned\\x07 ") and out.endswith("\n")
    assert "\x1b" not in out and "\x07" not in out
    # a CSV column named with an OSC sequence and a tab: the header line has it visible
    (tmp_path / "s.csv").write_text("\x1b]0;pwned\x07\n" + "\n".join(
        str(v) for v in (1, 3, 2, 5, 4, 6, 5, 7)) + "\n")
    (tmp_path / "s.toml").write_text('[scenario]\nname = "s"\nkind = "series"\n[model]\n'
                                     'hidden_size = 3\n[train]\nepochs = 0\n'
                                     '[data]\ncsv = "s.csv"\nwindow = 3\n')
    assert main(["generate", str(tmp_path / "s.toml"), "--length", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "step\tforecast ␛]0;pwned\\x07\ttruth" and len(lines) == 3
    assert "\x1b" not in "".join(lines)


def test_generate_keeps_line_breaks_and_tabs_of_the_text_it_writes():
    from rnntui.safe_text import visible
    text = "one\ttwo\nthree\x1b[2Jfour\x00\r\u202e"
    assert visible(text, keep="\n\t") == "one\ttwo\nthree␛[2Jfour\\0\\rU+202E"
    assert visible(text) == "one\\ttwo\\nthree␛[2Jfour\\0\\rU+202E"
