"""Mangled lesson files load cleanly or fail with one LessonError naming the file.

Like the scenario fuzz test: the built-in lessons are damaged the way editors and people damage
files (lines deleted, repeated, swapped, values retyped, keys and headers added, bytes flipped,
other encodings), 600 examples a run. Whatever comes out, loading raises nothing but
LessonError, with a one-line message starting with the file's name.
"""

from __future__ import annotations


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _mangle import mangle, quoted
from rnntui.lessons import LessonError, course_files
from rnntui.lessons.loader import (LESSON_KEYS, QUESTION_KEYS, STEP_KEYS, TASK_KEYS, _decode,
                                   loads_lesson)
from rnntui.lessons.schema import Lesson

COURSE = course_files()
SOURCE = str(COURSE[0].parent / "fuzz.toml")  # scenario paths resolve beside the course
TEXTS = [f.read_text(encoding="utf-8") for f in COURSE]
KEYS = sorted(set(LESSON_KEYS + STEP_KEYS + TASK_KEYS + QUESTION_KEYS))
HEADERS = ["[lesson]", "[[step]]", "[step.task]", "[step.question]", "[step]", "[[lesson]]",
           "[step.task.x]", "[]", "[lessn]"]
VALUES = st.one_of(
    st.sampled_from([
        '"x"', '""', '"cat"', '"long"', '"lstm"', '"gru"', '"trained"', '"untrained"',
        '"backward"', '"loss"', '"output"', '"t == 1"', "'phase == \"backward\"'",
        "'t =='", "'min_jacobian < 1e-6'", "'{nope}'", '"{p_target:.3f}"', '"{h:zz}"',
        '"{{"', '"}"', '"{t!r}"', '"{predicted}"', '"{carry}"', "0", "1", "-1", "99", "200",
        "100000", "1e308", "nan", "inf", "true", "false", "[]", '["a"]',
        '["a", "b", "c", "d", "e"]',
        '["right"]', '["nokey"]', "[1, 2]", "{}", "{do = 'x'}", "1979-05-27", '"../nowhere.toml"',
        '"scenarios/none.toml"', "'''\nmulti\nline'''",
    ]),
    st.integers(-(2**40), 2**40).map(str),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10)
    .map(quoted),
)


@st.composite
def mangled_text(draw) -> str:
    return mangle(draw, draw(st.sampled_from(TEXTS)), values=VALUES, keys=KEYS,
                  headers=HEADERS, most=5)


@st.composite
def mangled_bytes(draw) -> bytes:
    text = draw(mangled_text())
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16",
                                             "latin-1"])), errors="replace")
    for _ in range(draw(st.integers(0, 2))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["truncate", "insert", "flip"]))
        if op == "truncate":
            data = data[:at]
        elif op == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
        else:
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    return data


def load(data: bytes) -> Lesson:
    return loads_lesson(_decode(data, SOURCE), SOURCE)


@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mangled_bytes())
def test_mangled_lessons_fail_only_with_lesson_error(data):
    try:
        lesson = load(data)
    except LessonError as err:
        text = str(err)
        assert text.startswith(SOURCE + ":") and "\n" not in text, text
        assert err.path == SOURCE
    else:
        assert isinstance(lesson, Lesson) and 1 <= len(lesson.steps)
        for step in lesson.steps:
            assert step.narration and 0 <= step.t


def test_the_fuzzer_reaches_both_outcomes():
    """A generator that only ever made broken (or only valid) files would test little."""
    outcomes = {"ok": 0, "error": 0}

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(mangled_text())
    def run(text):
        try:
            loads_lesson(text, SOURCE)
            outcomes["ok"] += 1
        except LessonError:
            outcomes["error"] += 1

    run()
    assert outcomes["ok"] >= 10 and outcomes["error"] >= 30, outcomes
