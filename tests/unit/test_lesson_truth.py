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
