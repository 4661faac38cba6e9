"""Recordings written by hand for the tests (rnntui.recording): a header, a built-in scenario's
text, and the events given."""

from __future__ import annotations

import json
from functools import lru_cache

from rnntui.classroom import protocol as P
from rnntui.classroom.session import _builtin_text


def header(**changes) -> dict:
    from rnntui.cache import engine_version
    return {"format": "rnntui-recording", "version": 1, "rnntui": "0", "engine": engine_version(),
            "command": "app", "started": "2026-01-01T00:00:00Z", **changes}


def scenario_event(name: str = "cat", t: float = 0.0) -> dict:
    text = _builtin_text(name)
    return {"t": t, "type": "scenario", "name": name, "sha256": P.sha256(text), "builtin": True,
            "toml": text.decode("utf-8")}


@lru_cache(maxsize=None)
def weights_at_0(name: str) -> str:
    from engine import initial_params
    from engine.scenario import load
    return P.weights_digest(P.weight_arrays(initial_params(load(name))))


def position_event(position: str, t: float = 0.0, name: str = "cat") -> dict:
    """A first position event: with its scenario and weights (epoch 0's)."""
    return {"t": t, "type": "position", "position": position,
            "scenario": P.sha256(_builtin_text(name)),
            "weights": {"epoch": 0, "sha256": weights_at_0(name)}}


def recording_bytes(events: list[dict], name: str = "cat", **head) -> bytes:
    """A whole recording: the header, ``name``'s text, a first position at t=0, ``events``."""
    lines = [header(**head), scenario_event(name), position_event(f"scenario={name},epoch=0,t=0",
                                                                  name=name), *events]
    return "".join(json.dumps(line) + "\n" for line in lines).encode("utf-8")
