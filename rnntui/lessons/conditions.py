"""The small language of task conditions: comparisons of names and numbers joined by and/or/not.

A condition is data, never code: it is read by the tokenizer and recursive-descent parser below
(nothing is evaluated by Python), checked against the names it may use when the lesson loads,
and evaluated against a mapping of names to values while the lesson runs. Grammar::

    condition  := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand (("<" | "<=" | ">" | ">=" | "==" | "!=") operand)?
    operand    := NUMBER | STRING | NAME | "true" | "false" | "(" or_expr ")"

NUMBER is a decimal with an optional sign and exponent (``3``, ``-0.5``, ``1e-6``), STRING is in
double or single quotes, NAME is a position field or a quantity (docs/lessons.md). ``<`` and
friends compare numbers; ``==`` and ``!=`` also compare text and truth values. A comparison with
a value that is not known at that moment (a NaN, a quantity that does not apply) is false.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Callable, Mapping

__all__ = ["ConditionError", "Condition", "parse", "NUMBER", "TEXT", "TRUTH"]

NUMBER, TEXT, TRUTH = "number", "text", "truth"
#: The longest condition read (a condition is one line a teacher writes).
MAX_LENGTH = 500
#: How deeply parentheses and nots may nest.
MAX_DEPTH = 30

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<string>"[^"\n]*"|'[^'\n]*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|==|!=|<|>)
  | (?P<paren>[()])
  | (?P<sign>[+-])
""", re.X)
_WORDS = ("and", "or", "not", "true", "false")
#: The most characters of a token an error message quotes (a 400-digit number is cut).
QUOTE_MOST = 24
_ORDER_OPS = ("<", "<=", ">", ">=")


class ConditionError(ValueError):
    """A condition that cannot be read or uses a name it may not; ``str(err)`` is one line."""


def _q(text: str) -> str:
    """A token quoted in an error: at most QUOTE_MOST characters, control characters shown."""
    from ..safe_text import clip
    return repr(clip(text, QUOTE_MOST))


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    at: int


# nodes: ("num", float) ("str", text) ("bool", b) ("name", n) ("cmp", op, l, r)
#        ("and", l, r) ("or", l, r) ("not", x)


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise ConditionError(f"cannot read {_q(text[i:i + 12])} at column {i + 1}")
        kind = m.lastgroup or ""
        if kind != "space":
            out.append(_Tok(kind, m.group(0), i))
        i = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ConditionError("the condition ends too early")
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "name" and tok.text == word

    def parse(self):
        if not self.toks:
            raise ConditionError("the condition is empty")
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise ConditionError(f"unexpected {_q(tok.text)} at column {tok.at + 1} (join "
                                 f"comparisons with and, or)")
        return node

    def nested(self, fn):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"nested more than {MAX_DEPTH} deep")
        try:
            return fn()
        finally:
            self.depth -= 1

    def or_expr(self):
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.is_word("and"):
            self.take()
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self):
        if self.is_word("not"):
            self.take()
            return ("not", self.nested(self.not_expr))
        return self.comparison()

    def comparison(self):
        left = self.operand()
        tok = self.peek()
        if tok is not None and tok.kind == "op":
            self.take()
            right = self.operand()
            nxt = self.peek()
            if nxt is not None and nxt.kind == "op":
                raise ConditionError(f"{_q(nxt.text)} at column {nxt.at + 1}: write a < x and "
                                     f"x < b, not a < x < b")
            return ("cmp", tok.text, left, right)
        return left

    def operand(self):
        tok = self.take()
        if tok.kind == "paren" and tok.text == "(":
            node = self.nested(self.or_expr)
            close = self.take()
            if close.text != ")":
                raise ConditionError(f"expected ')' at column {close.at + 1}")
            return node
        if tok.kind == "sign":
            num = self.take()
            if num.kind != "number":
                raise ConditionError(f"a sign must be followed by a number (column "
                                     f"{tok.at + 1})")
            return ("num", _number(("-" if tok.text == "-" else "") + num.text))
        if tok.kind == "number":
            return ("num", _number(tok.text))
        if tok.kind == "string":
            return ("str", tok.text[1:-1])
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                return ("bool", tok.text == "true")
            if tok.text in _WORDS:
                raise ConditionError(f"{_q(tok.text)} at column {tok.at + 1} needs a comparison "
                                     f"before it")
            return ("name", tok.text)
        raise ConditionError(f"unexpected {_q(tok.text)} at column {tok.at + 1}")


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ConditionError(f"{_q(text)[1:-1]} is too big a number")
    return value


@dataclass(frozen=True)
class Condition:
    """A parsed condition: :meth:`names` it reads, :meth:`check` against their types,
    :meth:`holds` for a mapping of values."""

    text: str
    tree: tuple

    def names(self) -> set[str]:
        found: set[str] = set()

        def walk(node) -> None:
            if node[0] == "name":
                found.add(node[1])
            for part in node[1:]:
                if isinstance(part, tuple):
                    walk(part)
        walk(self.tree)
        return found

    def check(self, types: Mapping[str, str]) -> None:
        """Raise ConditionError for a name not in ``types`` (name -> NUMBER, TEXT or TRUTH) or a
        comparison of mismatched kinds."""
        def kind(node) -> str:
            tag = node[0]
            if tag == "num":
                return NUMBER
            if tag == "str":
                return TEXT
            if tag == "bool":
                return TRUTH
            if tag == "name":
                if node[1] not in types:
                    close = difflib.get_close_matches(node[1], list(types), n=1)
                    hint = f"; did you mean {close[0]}?" if close else \
                        " (docs/lessons.md lists the names)"
                    raise ConditionError(f"unknown name {_q(node[1])}{hint}")
                return types[node[1]]
            if tag == "cmp":
                op, a, b = node[1], kind(node[2]), kind(node[3])
                if a != b:
                    raise ConditionError(f"{_show(node[2])} {op} {_show(node[3])} compares "
                                         f"{a} with {b}")
                if op in _ORDER_OPS and a != NUMBER:
                    raise ConditionError(f"{op} compares numbers; {_show(node[2])} is {a} "
                                         f"(use == or !=)")
                return TRUTH
            if tag == "not":
                _truth(node[1], kind(node[1]))
                return TRUTH
            for part in node[1:]:  # and / or
                _truth(part, kind(part))
            return TRUTH
        _truth(self.tree, kind(self.tree))

    def holds(self, values: Mapping[str, object] | Callable[[str], object]) -> bool:
        """Whether the condition is true for ``values`` (a mapping or a lookup function)."""
        get = values if callable(values) else values.get
        return _eval(self.tree, get) is True


def _show(node) -> str:
    return {"num": lambda: f"{node[1]:g}", "str": lambda: _q(node[1]),
            "bool": lambda: str(node[1]).lower(), "name": lambda: _q(node[1])[1:-1]}.get(
        node[0], lambda: "(…)")()


def _truth(node, kind: str) -> None:
    if kind != TRUTH:
        raise ConditionError(f"{_show(node)} is a {kind}, not true or false: compare it "
                             f"(e.g. {_show(node)} > 0)")


def _value(node, get):
    tag = node[0]
    if tag in ("num", "str", "bool"):
        return node[1]
    if tag == "name":
        return get(node[1])
    return _eval(node, get)


def _eval(node, get):
    """True, False, or None (unknown)."""
    tag = node[0]
    if tag == "and":
        a = _eval(node[1], get)
        return False if a is not True else _eval(node[2], get) is True
    if tag == "or":
        return True if _eval(node[1], get) is True else _eval(node[2], get) is True
    if tag == "not":
        a = _eval(node[1], get)
        return None if a is None else not a
    if tag == "cmp":
        op = node[1]
        a, b = _value(node[2], get), _value(node[3], get)
        if a is None or b is None:
            return None
        if isinstance(a, bool) or isinstance(b, bool):
            if not (isinstance(a, bool) and isinstance(b, bool)):
                return None
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
            a, b = float(a), float(b)
            if math.isnan(a) or math.isnan(b):
                return None
        elif not (isinstance(a, str) and isinstance(b, str)):
            return None
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if isinstance(a, str) or isinstance(a, bool):
            return None
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    value = _value(node, get)
    return value if isinstance(value, bool) else None


def parse(text: str) -> Condition:
    """Read a condition (raises ConditionError with a one-line reason)."""
    if not isinstance(text, str):
        raise ConditionError("a condition is text")
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"a condition is at most {MAX_LENGTH} characters, this one "
                             f"{len(text)}")
    return Condition(text, _Parser(text).parse())
