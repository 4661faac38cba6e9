"""The lesson rule's parts that need no running app: numbers read off words and panes, the
texts' own figures kept to two, and a broken format caught (the walk itself is in
tests/functional/test_lessons_app.py)."""

from __future__ import annotations

import pytest
from helpers import draw_pane, make_view

from rnntui.lessons import builtin_lessons, quantities
from rnntui.lessons.quantities import Facts
from rnntui.lessons.session import fill_step, step_view
from rnntui.lessons.text import placeholders
from rnntui.lessons.truth import TEXT_FIGURES, decimals, unseen
from rnntui.widgets import OutputPane, _draw

LESSONS = builtin_lessons()


def test_decimals_reads_signs_points_and_exponents_not_counts():
    assert decimals("t = 4, 200 epochs, p 0.9991, h −0.1519, +0.2352, 1.2e-5×, 35.9%") == [
        ("", "0.9991"), ("-", "0.1519"), ("+", "0.2352"), ("", "1.2e-5"), ("", "35.9")]


def test_unseen_wants_the_panes_own_digits_and_sign():
    pane = "tgt 'throne' 0.9991  h0 -0.1519  h1 +0.3075  τ=3→t=0: 0.0078× fading"
    assert unseen("p = 0.9991, share 0.0078×, h1 0.3075", pane) == []
    assert unseen("p = 0.999", pane) == ["0.999"]  # a shorter rounding is not the pane's
    assert unseen("p = 0.99910", pane) == ["0.99910"]
    assert unseen("h0 = 0.1519", pane) == ["0.1519"]  # the sign is part of it
    assert unseen("the text's 0.5240", pane, ("0.5240",)) == []


def test_the_course_quotes_at_most_two_figures_of_its_texts_each_said_to_be_theirs():
    quoted = []
    for lesson in LESSONS:
        for step in lesson.steps:
            texts = [step.narration] + ([step.task.do, step.task.then] if step.task else []) \
                + ([step.question.prompt, step.question.why, *step.question.choices]
                   if step.question else [])
            for text in texts:
                names = [n for n, _ in placeholders(text) if n in TEXT_FIGURES]
                if names:
                    assert "text" in text, text  # "the text's figure", "the texts ... draw on"
                    quoted += names
    assert 1 <= len(set(quoted)) <= 2, quoted


def _words_and_pane(lesson: int, step_no: int):
    step = LESSONS[lesson - 1].steps[step_no - 1]
    view = step_view(make_view(step.scenario), step)  # (untrained king: cheap)
    words = fill_step(step, Facts(view))["narration"]
    return words, draw_pane(view, OutputPane, 22, 5)  # the Output pane at 80x24 in a lesson


def test_the_output_panes_numbers_are_the_words_numbers():
    words, pane = _words_and_pane(3, 1)
    assert decimals(words) and unseen(words, pane) == [], (words, pane)


@pytest.mark.parametrize("broken", ["quantity", "pane"])
def test_a_helper_that_breaks_a_format_breaks_the_rule(monkeypatch, broken):
    """Lesson 3 step 1 quotes two probabilities; with either side's format changed on its own
    (the lesson quantity's form, or the Output pane's call of the shared formatter) its words
    no longer stand on the pane."""
    if broken == "quantity":
        monkeypatch.setattr(quantities, "_formed", lambda value, form: f"{value:.3f}")
    else:
        from rnntui.widgets import output
        monkeypatch.setattr(output, "fmt_abs", lambda x, digits=4: _draw.fmt_abs(x, 3))
    words, pane = _words_and_pane(3, 1)
    assert unseen(words, pane), (words, pane)


# -- the panes a lesson points at, at their lesson sizes (80x24: 22x5, 60x20: 16x3) ------------
def test_item5_the_gradients_pane_keeps_its_min_label_in_a_lesson():
    """With five rows (80x24 under the strip) each chart has two rows or fewer: the floor the
    bars stand on is written, so a short bar reads against a known bottom."""
    from rnntui.widgets import GradientPane
    view = make_view("long").with_grads("loss").at(9)
    for grads in ("loss", "total"):
        text = draw_pane(view.with_grads(grads), GradientPane, 22, 5)
        assert "min " in text, text
        assert "max " not in text.split("\n")[2], text  # (not on a bottom row)


def test_item6_retention_says_its_verdict_is_about_the_first_input():
    """On 'long' the Gradients pane's verdict (the sentence's own gradient) and Retention's
    (blank inputs after x₀) measure different things: the narrow Retention line names x₀."""
    from rnntui.widgets import RetentionPane
    view = make_view("long")
    for width, height in ((22, 5), (16, 3)):
        last = draw_pane(view, RetentionPane, width, height).split("\n")[-1]
        assert last.startswith("x₀"), last


# -- rnntui check: a teacher's lesson held to the same rule ------------------------------------
def test_check_warns_when_a_step_quotes_what_its_pane_does_not_show(tmp_path):
    from rnntui.lessons.command import check_file
    from rnntui.lessons.truth import screen_warnings
    f = tmp_path / "mine.toml"
    f.write_text('''
[lesson]
title = "Mine"
summary = "Numbers."
minutes = 2
scenario = "king"

[[step]]
point = "loss"
narration = "The loss at this step is {step_loss}."

[[step]]
point = "output"
narration = "After 'the', {p_target} on the target; {reach_first:.2e} reaches h_0."

[[step]]
point = "output"
maximize = true
narration = "The loss at this step is {step_loss}, at t = {t}."
''')
    ok, err = check_file(str(f))
    assert err is None and ok.startswith(f"{f}: ok")
    warnings = ok.split("\n")[1:]
    assert warnings == [
        f"{f}:8: warning: step 1 quotes {{step_loss}}, which the loss pane does not show (the "
        "output or step pane does) at 80x24",
        f"{f}:12: warning: step 2 quotes {{reach_first}}, which no pane shows: the learner has "
        "to take it on trust at 80x24"], warnings
    assert all(screen_warnings(lesson) == [] for lesson in LESSONS)  # the course keeps it


# -- item 10, the smaller ones -----------------------------------------------------------------
def test_item10_help_writes_brackets_instead_of_swallowing_them_as_markup():
    from helpers import render_text

    from rnntui.keys import BINDINGS
    from rnntui.screens.help import HelpScreen
    help_screen = HelpScreen(BINDINGS, {})
    assert "in [brackets]" in " ".join(render_text(help_screen._panes(), 100).split())
    assert "[tok]" in render_text(help_screen._glyphs(), 100)


def test_item10_the_input_dialog_lists_known_words_in_three_lines_at_most():
    from rnntui.screens.text_input import MAX_LISTED, known_list
    listed = known_list([f"word{i}" for i in range(800)])
    head, _, tail = listed.partition(" … and ")
    assert len(head) <= MAX_LISTED and tail.endswith(" more")
    assert int(tail.split()[0]) + len(head.split()) == 800
    assert known_list(["a", "b"]) == "a b"


@pytest.mark.parametrize("width", [58, 60, 80])
def test_item10_while_training_the_top_line_keeps_the_progress_and_the_cell(width):
    from rnntui.screens.main import status_text
    from rnntui.view import Training
    view = make_view("king").at(3).with_training(Training(epoch=12, last=200, losses=(1.5,)))
    text = status_text(view, width).plain
    assert "training 12/200" in text and "RNN" in text and len(text) <= width, text


# -- signs on screen ---------------------------------------------------------------------------
def snapshot_glyphs() -> dict[str, str]:
    """Every sign in the committed snapshots' text that is not ASCII, a border or frame line
    (box drawing) or a braille dot (one entry stands for them all), with a file it is in."""
    import glob
    import html
    import os
    import re
    root = os.path.join(os.path.dirname(__file__), "..", "snapshots", "__snapshots__")
    found: dict[str, str] = {}
    for path in sorted(glob.glob(os.path.join(root, "*", "*.svg"))):
        with open(path, encoding="utf-8") as f:
            svg = f.read()
        for text in re.findall(r">([^<>]*)</text>", svg):
            for c in html.unescape(text):
                if ord(c) > 127 and c != "\xa0" and not 0x2500 <= ord(c) <= 0x257F \
                        and not 0x2800 <= ord(c) <= 0x28FF:
                    found.setdefault(c, os.path.basename(path))
    return found


def test_every_sign_in_a_snapshot_is_in_helps_table():
    from rnntui.screens.help import GLYPHS
    table = "".join(glyph for glyph, _ in GLYPHS)
    found = snapshot_glyphs()
    assert len(found) > 30  # (the scan reads the snapshots' text)
    missing = {c: where for c, where in found.items() if c not in table}
    assert not missing, missing
    assert "⣿" in table  # braille, one entry for every dot pattern


def test_every_pane_has_a_legend_naming_the_signs_issue_20_found_unexplained():
    from rnntui.screens.help import PANE_LEGENDS
    from rnntui.screens.main import MainScreen
    ids = {"sequence", "batch", "step", "hidden", "output", "gradients", "retention", "loss",
           "attention"}
    assert set(PANE_LEGENDS) == ids
    assert any(b.key == "k" and b.action == "legend" for b in MainScreen.BINDINGS)
    said = " ".join(PANE_LEGENDS.values())
    for sign in ("(12)", "4/12", "+█▒░", "−●•·", "≤0.070×", "x₀: 2.4×", "x₀ changes nothing",
                 "∂Lτ/∂h", "s is a", "belt ∏f", "tgt", "ep 40", "▓", "▒"):
        assert sign in said, sign
