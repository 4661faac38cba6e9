"""rnntui.safe_json: the one reader of JSON from outside (recordings, the classroom's messages,
the lesson progress file): nesting counted before parsing, one short reason for each refusal."""

from __future__ import annotations

import pytest

from rnntui.safe_json import JSONError, read_json, too_deep


def test_nesting_is_counted_before_parsing_and_strings_do_not_count():
    assert read_json('{"a": [[1]], "b": "[[[[[[[[[[[[[[[[[[[[ \\" [[["}')["a"] == [[1]]
    assert not too_deep(b'[[["[[[[\\"[[["]]]', 3) and too_deep(b"[[[[]]]]", 3)
    with pytest.raises(JSONError, match="^nests more than 16 deep$"):
        read_json(b"[" * 100_000)  # (json.loads alone: a RecursionError, or a crash)
    with pytest.raises(JSONError, match="nests more than 2 deep"):
        read_json("[[[1]]]", max_depth=2)


def test_each_refusal_says_why_in_a_few_words():
    with pytest.raises(JSONError, match="^not UTF-8 text$"):
        read_json(b'{"a": "\xff"}')
    with pytest.raises(JSONError) as err:
        read_json("{")
    assert str(err.value).startswith("not JSON (Expecting") and \
        err.value.detail.startswith("Expecting")
    with pytest.raises(JSONError, match="Exceeds the limit"):  # (int() of 5,000 digits)
        read_json("1" * 5000)


def test_a_hooks_plain_value_error_is_a_refusal_and_its_own_errors_pass_through():
    def no_nan(name):
        raise ValueError(f"{name} is not a number here")

    class Mine(ValueError):
        pass

    def twice(pairs):
        raise Mine("a key twice")
    with pytest.raises(JSONError, match="NaN is not a number here"):
        read_json("[NaN]", parse_constant=no_nan)
    with pytest.raises(Mine):
        read_json('{"a": 1}', object_pairs_hook=twice)
