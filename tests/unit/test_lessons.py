"""Lesson files: the built-in course loads, bad files give one LessonError naming file, line and
key, the condition language reads and evaluates what docs/lessons.md says (and nothing else),
placeholders are checked, progress marks are kept atomically in the data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rnntui.lessons import LessonError, builtin_lessons, find_lesson, loads_lesson
from rnntui.lessons.conditions import ConditionError, parse
from rnntui.lessons.progress import Progress, progress_path
from rnntui.lessons.quantities import names_and_kinds

GOOD = '''
[lesson]
title = "Mine"
summary = "A teacher's lesson."
minutes = 3
scenario = "cat"

[[step]]
t = 1
narration = "At t = {t} the state is {h} and p = {p_target:.3f}."

[[step]]
narration = "Press b."
[step.task]
do = "Press b."
keys = ["b"]
condition = 'phase == "backward"'
then = "Done at t = {t}."

[[step]]
narration = "A question."
[step.question]
prompt = "Which?"
choices = ["a", "b"]
answer = 2
why = "Because."
'''


def bad(text: str, source="mine.toml") -> str:
    with pytest.raises(LessonError) as info:
        loads_lesson(text, source)
    msg = str(info.value)
    assert msg.startswith(source + ":") and "\n" not in msg, msg
    return msg


def test_the_course_has_nine_lessons_of_three_to_eight_steps():
    lessons = builtin_lessons()
    assert len(lessons) >= 9
    assert [lesson.number for lesson in lessons] == list(range(1, len(lessons) + 1))
    for lesson in lessons:
        assert 3 <= len(lesson) <= 8, (lesson.name, len(lesson))
        assert lesson.title and lesson.summary and lesson.minutes > 0
        assert any(s.task or s.question for s in lesson.steps), lesson.name
    gates = lessons[8]
    assert any(s.cell == "lstm" for s in gates.steps)
    assert any(s.task and "C" in s.task.keys for s in gates.steps)
    assert {s.scenario for s in lessons[4].steps} >= {"long", "count", "cat"}


def test_find_by_name_number_and_path(tmp_path):
    assert find_lesson("1").name == "recurrence" == find_lesson("recurrence").name
    f = tmp_path / "02_mine.toml"
    f.write_text(GOOD)
    lesson = find_lesson(str(f))
    assert lesson.name == "mine" and len(lesson) == 3
    with pytest.raises(LessonError, match="did you mean 'recurrence'"):
        find_lesson("recurrance")


def test_a_good_lesson_inherits_state_step_to_step():
    lesson = loads_lesson(GOOD, "mine.toml")
    s1, s2, s3 = lesson.steps
    assert s1.scenario == "cat" and s1.t == 1 and s2.t == 1 and s3.t == 1
    assert s2.task.condition.holds({"phase": "backward"})
    assert s3.question.answer == 2 and s3.question.choices == ("a", "b")
    assert s1.line == 8 and s2.line == 12


@pytest.mark.parametrize("change,where,what", [
    (('minutes = 3', 'minuts = 3'), ":5: [lesson].minuts", "did you mean 'minutes'"),
    (('t = 1\n', 't = 9\n'), ":9: [[step]].t (step 1)", "from 0 to 5"),
    (('{p_target:.3f}', '{p_targt:.3f}'), ":10: [[step]].narration (step 1)",
     "unknown placeholder {p_targt}; did you mean 'p_target'"),
    (('{p_target:.3f}', '{p_target!r}'), "[[step]].narration (step 1)", "not a placeholder"),
    (('{p_target:.3f}', '{predicted}'), "[[step]].narration (step 1)",
     "applies to series, echo and majority scenarios"),
    (("'phase == \"backward\"'", "'phse == \"backward\"'"), ":17: [step.task].condition (step 2)",
     "unknown name 'phse'; did you mean phase?"),
    (("'phase == \"backward\"'", "'phase > 3'"), "[step.task].condition (step 2)",
     "compares text with number"),
    (("'phase == \"backward\"'", "'t < 1 < 2'"), "[step.task].condition", "not a < x < b"),
    (('keys = ["b"]', 'keys = ["bee"]'), ":16: [step.task].keys[0] (step 2)", "unknown key 'bee'"),
    (('answer = 2', 'answer = 3'), ":25: [step.question].answer (step 3)", "from 1 to 2"),
    (('choices = ["a", "b"]', 'choices = ["a"]'), "[step.question].choices (step 3)",
     "2 to 4 answers"),
    (('scenario = "cat"', 'scenario = "kat"'), ":6: [lesson].scenario",
     "did you mean 'cat'"),
    (('scenario = "cat"', 'scenario = "nowhere/x.toml"'), "[[step]].scenario (step 1)",
     "does not open"),
    (('[step.task]', '[step.tsk]'), "[[step]].tsk (step 2)", "did you mean 'task'"),
    (('do = "Press b."', 'prompt = "Press b."'), "[step.task].prompt (step 2)",
     "belongs under [step.question]"),
    (('title = "Mine"', 'title = 3'), ":3: [lesson].title", "must be a string"),
    (('narration = "A question."', 'narration = "A {{ question {"'), "[[step]].narration (step 3)",
     "brace"),
])
def test_bad_lessons_name_file_line_and_key(change, where, what):
    old, new = change
    assert old in GOOD
    msg = bad(GOOD.replace(old, new, 1))
    assert where in msg and what in msg, msg


def test_bad_lesson_shapes():
    assert "TOML syntax error" in bad("[lesson\ntitle = 1")
    assert ":1:" in bad("[lesson\ntitle = 1")
    assert "empty" in bad("   ")
    assert "[lesson]: this section is missing" in bad("[[step]]\nnarration = 'x'\n")
    assert "at least one [[step]]" in bad(GOOD.split("[[step]]")[0])
    assert "unknown table [lessons]" in bad(GOOD.replace("[lesson]", "[lessons]"))
    both = GOOD.replace('narration = "Press b."', 'narration = "Press b."\n'
                        '[step.question]\nprompt = "x"\nchoices = ["a", "b"]\nanswer = 1\n'
                        'why = "y"')
    assert "a task or a question, not both" in bad(both)
    two = GOOD.replace("[[step]]\nt = 1", "[[step]]\nmaximize = true\nt = 1")
    assert "point" in bad(two)


def test_a_scenario_path_is_relative_to_the_lesson_file(tmp_path):
    (tmp_path / "sc").mkdir()
    src = os.path.join(os.path.dirname(__file__), "..", "..", "scenarios", "cat.toml")
    (tmp_path / "sc" / "mine.toml").write_text(open(src).read())
    f = tmp_path / "lesson.toml"
    f.write_text(GOOD.replace('scenario = "cat"', 'scenario = "sc/mine.toml"'))
    from rnntui.lessons import load_lesson
    lesson = load_lesson(f)
    assert lesson.steps[0].scenario == str(tmp_path / "sc" / "mine.toml")


def test_a_step_may_open_a_lab_run_by_its_name():
    run = "lab=memory length=20 cell=rnn seed=0"
    lesson = loads_lesson(GOOD.replace('scenario = "cat"', f'scenario = "{run}"')
                          .replace("{p_target:.3f}", "{t}"), "mine.toml")
    step = lesson.steps[0]
    assert step.scenario == run and step.cell is None
    assert step.position.scenario == run
    from rnntui.lessons.loader import _scenario
    sc = _scenario(step.scenario, None)
    assert sc.source == run and sc.model.cell == "rnn" and len(sc.sequence) == 20
    assert step.epoch == sc.train.epochs  # "trained": the lab run's own budget
    # the presenter's lessons name built-in labs' runs too
    assert loads_lesson(GOOD.replace('scenario = "cat"', f'scenario = "{run}"')
                        .replace("{p_target:.3f}", "{t}"), "presenter:x", sent=True)


def test_a_step_switches_an_encoder_decoders_attention_and_keeps_it_until_told():
    steps = ('\n[[step]]\nattention = "none"\nnarration = "a"\n[[step]]\nnarration = "b"\n'
             '[[step]]\nattention = "dot"\nnarration = "c"\n[[step]]\nscenario = "cat"\n'
             'narration = "d"\n')
    lesson = loads_lesson('[lesson]\ntitle = "A"\nsummary = "B"\nminutes = 1\n'
                          'scenario = "reverse"\n' + steps, "mine.toml")
    assert [s.attention for s in lesson.steps] == ["none", "none", "dot", None]
    assert lesson.steps[0].position.attention == "none"
    from rnntui.lessons.loader import _scenario
    assert _scenario("reverse", None, "none").model.attention == "none"
    assert _scenario("reverse", None).model.attention == "additive"  # (kept apart)
    msg = bad(GOOD.replace('scenario = "cat"', 'scenario = "reverse"\n[[step]]\n'
                           'attention = "dots"\nnarration = "x"'))
    assert '[[step]].attention (step 1): must be one of "none"' in msg, msg
    msg = bad(GOOD.replace("t = 1\n", 'attention = "none"\n'))
    assert msg.startswith("mine.toml:9: [[step]].attention (step 1): only an encoder-decoder"), msg


def test_a_lab_run_a_step_names_is_read_strictly():
    def bad(run, extra=""):
        text = GOOD.replace('scenario = "cat"', f'scenario = "{run}"{extra}') \
                   .replace("{p_target:.3f}", "{t}")
        with pytest.raises(LessonError) as e:
            loads_lesson(text, "mine.toml")
        return str(e.value)
    msg = bad("lab=memory length=30 cell=rnn seed=0")
    assert msg.startswith("mine.toml:6: [lesson].scenario:") and "length='30'" in msg \
        and "5, 10, 20" in msg
    assert "no built-in lab or file named 'memroy'" in bad("lab=memroy length=20 cell=rnn "
                                                           "seed=0")
    assert "names no seed=" in bad("lab=memory length=20 cell=rnn")
    msg = bad("lab=memory length=20 cell=rnn seed=0", "\n[[step]]\ncell = \"lstm\"\n"
              "narration = \"x\"")
    assert "part of its name" in msg and "[[step]].cell (step 1)" in msg


def test_lesson_files_are_bytes_checked(tmp_path):
    from rnntui.lessons import load_lesson
    f = tmp_path / "x.toml"
    f.write_bytes(GOOD.encode("utf-16"))
    with pytest.raises(LessonError, match="UTF-16"):
        load_lesson(f)
    f.write_bytes(b"[lesson]\ntitle = \"\xff\"\n")
    with pytest.raises(LessonError, match=r"x.toml:2: .*not UTF-8"):
        load_lesson(f)
    with pytest.raises(LessonError, match="no such file"):
        load_lesson(tmp_path / "missing.toml")


# -- the condition language ---------------------------------------------------------------------
VALUES = {"t": 3, "phase": "backward", "knob": -4, "min_jacobian": 5e-7, "p_target": None,
          "pinned": True, "compared": False}


@pytest.mark.parametrize("text,result", [
    ("t == 3", True), ("t != 3", False), ("t >= 3 and t < 4", True), ("t > 3 or knob <= -4", True),
    ("not t == 3", False), ("not (t == 3 and phase == 'forward')", True),
    ('phase == "backward"', True), ("min_jacobian < 1e-6", True), ("min_jacobian < 1E-7", False),
    ("knob == -4", True), ("knob < -3.5", True), ("pinned", True), ("not compared", True),
    ("pinned == true", True), ("compared or t == 3", True),
    ("p_target > 0.5", False), ("not p_target > 0.5", False), ("p_target > 0.5 or t == 3", True),
    ("(((t == 3)))", True), ("t == .5e1", False),
])
def test_conditions_evaluate(text, result):
    cond = parse(text)
    cond.check(names_and_kinds())
    assert cond.holds(VALUES) is result


@pytest.mark.parametrize("text,what", [
    ("", "empty"), ("t ==", "ends too early"), ("t = 3", "cannot read"), ("t == 3 t", "unexpected"),
    ("__import__('os').system('x')", "cannot read"), ("t.real > 0", "cannot read"),
    ("and t == 1", "needs a comparison"), ("(t == 1", "ends too early"), ("t == 1)", "unexpected"),
    ("- t > 1", "sign must be followed by a number"), ("1e999 > t", "too big"),
    ("not " * 40 + "pinned", "nested"), ("t" * 600, "at most"),
])
def test_bad_conditions(text, what):
    with pytest.raises(ConditionError, match=what):
        parse(text)


@pytest.mark.parametrize("text,what", [
    ("tt == 1", "did you mean t?"), ("t", "not true or false"), ("phase < 'b'", "compares numbers"),
    ("t == 'x'", "compares number with text"), ("pinned and 3", "not true or false"),
])
def test_conditions_are_type_checked(text, what):
    with pytest.raises(ConditionError, match=what):
        parse(text).check(names_and_kinds())


def test_conditions_are_never_evaluated_by_python(monkeypatch):
    import builtins
    monkeypatch.setattr(builtins, "eval", None)
    monkeypatch.setattr(builtins, "exec", None)
    assert parse("t == 3 and not pinned == false").holds(VALUES)


# -- progress -----------------------------------------------------------------------------------
@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


def test_progress_lives_in_the_data_folder_and_round_trips(data_home):
    assert progress_path() == data_home / "rnntui" / "progress.json"
    p = Progress()
    assert p.mark("recurrence", 5) == "·"
    p.record("recurrence", step=2, done=1)
    assert Progress().mark("recurrence", 5) == "3/5"
    p.record("recurrence", step=0)  # going back keeps the furthest step reached
    assert Progress().mark("recurrence", 5) == "3/5"
    assert Progress().entry("recurrence")["step"] == 0
    p.record("recurrence", step=4, finished=True)
    assert Progress().mark("recurrence", 5) == "✓"
    assert not [f for f in os.listdir(data_home / "rnntui") if f.endswith(".tmp")]
    p.reset("recurrence")
    assert Progress().mark("recurrence", 5) == "·"


def test_home_is_the_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert progress_path() == tmp_path / ".local" / "share" / "rnntui" / "progress.json"


@pytest.mark.parametrize("content", [
    b"{not json", b"\xff\xfe", b"[1, 2]", b'{"version": 9}',
    b'{"version": 1, "lessons": {"a": {"done": "x", "step": -1}}}'])
def test_a_corrupt_progress_file_is_ignored(data_home, content):
    path = data_home / "rnntui" / "progress.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    p = Progress()
    assert p.mark("a", 3) == "·"
    p.record("a", step=1, done=0)
    assert json.loads(path.read_text())["lessons"]["a"]["done"] == [0]


def test_the_write_is_atomic(data_home, monkeypatch):
    p = Progress()
    p.record("a", step=1, done=0)
    before = (data_home / "rnntui" / "progress.json").read_text()

    def broken(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken)
    assert p.save() is False
    p.record("a", step=2, done=1)  # fails quietly: the old file stays whole
    assert (data_home / "rnntui" / "progress.json").read_text() == before
    assert not [f for f in os.listdir(data_home / "rnntui") if f.endswith(".tmp")]


# -- the command line ---------------------------------------------------------------------------
def rnntui(*args, env=None):
    return subprocess.run([sys.executable, "-m", "rnntui.cli", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_learn_lists_with_marks_and_resets(data_home):
    env = dict(os.environ, XDG_DATA_HOME=str(data_home))
    Progress().record("memory", step=1, done=0)
    out = rnntui("learn", env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "recurrence" in lines[0] and "2/4" in next(ln for ln in lines if "memory" in ln)
    assert rnntui("learn", "--reset", env=env).returncode == 0
    assert Progress().mark("memory", 4) == "·"
    err = rnntui("learn", "nosuch", env=env)
    assert err.returncode == 2 and err.stderr.count("\n") == 1
    assert "no built-in lesson" in err.stderr


def test_check_takes_lesson_files(tmp_path, data_home):
    good, broken = tmp_path / "good.toml", tmp_path / "broken.toml"
    good.write_text(GOOD)
    broken.write_text(GOOD.replace("minutes = 3", "minuts = 3"))
    out = rnntui("check", str(good))
    assert out.returncode == 0 and "ok (lesson 'Mine', 3 steps" in out.stdout
    out = rnntui("check", str(good), str(broken), "scenarios/cat.toml")
    assert out.returncode == 2
    assert out.stderr.strip() == (f"{broken}:5: [lesson].minuts: unknown key 'minuts'; did you "
                                  "mean 'minutes'? (known keys: title, summary, minutes, "
                                  "scenario)")
    assert "scenarios/cat.toml: ok" in out.stdout


def test_docs_name_every_quantity_and_field():
    from rnntui.lessons.quantities import FIELDS, QUANTITIES
    text = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "lessons.md"),
                encoding="utf-8").read()
    for name in list(QUANTITIES) + list(FIELDS):
        assert f"`{name}`" in text, name


# -- the strip's text ---------------------------------------------------------------------------
def card(**changes):
    from rnntui.lessons.session import Card
    base = dict(title="Vanishing and exploding gradients", number=5, index=2, count=6,
                step_title="a seed's figure", narration="Words.")
    base.update(changes)
    return Card(**base)


@pytest.mark.parametrize("width", [30, 58, 78, 118, 200])
def test_the_head_line_fits_and_keeps_the_step(width):
    from rnntui.widgets.lesson_strip import head_text
    text = head_text(card(), width)
    assert text.cell_len <= width and "step 3/6" in text.plain
    if width >= 78:
        assert ". next" in text.plain and "L leave" in text.plain
    assert head_text(card(index=5), 120).plain.count(". finish") == 1
    asking = head_text(card(prompt="Which?", choices=("a", "b", "c")), width)
    assert asking.cell_len <= width and "step 3/6" in asking.plain
    if width >= 58:  # (60x20: the answer keys stay when the others go)
        assert "1-3 answer" in asking.plain
    asking = head_text(card(prompt="Which?", choices=("a", "b", "c")), 100).plain
    assert "1-3 answer" in asking and ". next" in asking


@pytest.mark.parametrize("width", [40, 60, 70, 80, 90])
def test_the_head_line_never_cuts_a_word(width):
    """At 80x24 lesson 11's head read 'Padding and maskin…': the step's title goes first, then
    the lesson's title is cut at a word."""
    from rnntui.widgets.lesson_strip import head_text
    for asked in ({}, dict(prompt="Which?", choices=("a", "b", "c", "d"))):
        c = card(title="Padding and masking", step_title="what padding costs", **asked)
        head = head_text(c, width).plain
        title = head.split(": ", 1)[1].split("  ")[0].rstrip(" …")
        words = "Padding and masking · what padding costs".split()
        assert title.split() == words[:len(title.split())], head


def test_a_question_reveals_nothing_before_the_pick():
    from rnntui.widgets.lesson_strip import card_text
    asked = card_text(card(prompt="Which?", choices=("a", "b", "c"))).plain
    assert "Which?" in asked and "✓" not in asked and "✗" not in asked
    wrong = card_text(card(prompt="Which?", choices=("a", "b", "c"), picked=1, answer=3,
                           why="Because.")).plain
    assert "✗ 1 a" in wrong and "✓ 3 c" in wrong and "Not this one: it is 3. Because." in wrong
    right = card_text(card(prompt="Which?", choices=("a", "b"), picked=2, answer=2, why="So."))
    assert "✓ Right. So." in right.plain


def test_a_task_shows_its_box_then_its_tick():
    from rnntui.widgets.lesson_strip import card_text
    todo = card_text(card(do="Press b.")).plain
    assert "☐ Task: Press b." in todo
    done = card_text(card(do="Press b.", done=True, then="It walked back.")).plain
    assert "✓ Press b." in done and done.endswith("It walked back.")


def test_check_counts_one_step_in_the_singular(tmp_path):
    from rnntui.lessons.command import check_file
    one = tmp_path / "one.toml"
    one.write_text('[lesson]\ntitle = "One"\nsummary = "s"\nminutes = 1\nscenario = "king"\n'
                   '[[step]]\ntitle = "only"\nnarration = "hi"\n')
    assert check_file(str(one)) == (f"{one}: ok (lesson 'One', 1 step, 0 with a task or "
                                    f"question)", None)


def test_a_step_with_its_own_attention_is_elsewhere_from_a_view_with_another():
    from types import SimpleNamespace

    from rnntui.lessons.session import elsewhere
    lesson = loads_lesson('[lesson]\ntitle = "A"\nsummary = "B"\nminutes = 1\nscenario = '
                          '"reverse"\n[[step]]\nattention = "none"\nnarration = "a"\n'
                          '[[step]]\nattention = "additive"\nnarration = "b"\n', "mine.toml")
    off, on = lesson.steps

    def view(attention):
        model = SimpleNamespace(attention=attention)
        return SimpleNamespace(source="reverse", cell="gru",
                               scenario=SimpleNamespace(model=model))
    assert elsewhere(view("additive"), off) and elsewhere(view("none"), on)
    assert not elsewhere(view("none"), off) and not elsewhere(view("additive"), on)
    assert elsewhere(SimpleNamespace(source="reverse", cell="lstm", scenario=None), on)
