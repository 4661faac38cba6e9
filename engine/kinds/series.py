"""``kind = "series"``: one number a step (a wave, or one column of a CSV file,
engine/csvdata.py); the network forecasts the next value."""

from __future__ import annotations

from .._scenario_data import SERIES_KEYS, build_series
from .base import Kind

KIND = Kind(
    name="series", keys=SERIES_KEYS, build=build_series, default_output="identity",
    generates="forecast",
    one_way_because="the target at step t is the value at step t+1, which the backward "
                    "direction would already have read",
    advice={
        "": {"trace": "fewer [data].points", "train": "fewer [data].points",
             "memory": "fewer [data].points or a smaller [data].window"},
        "csv": {"trace": "a CSV file with fewer rows", "train": "a CSV file with fewer rows",
                "memory": "a CSV file with fewer rows or a smaller [data].window"},
    },
)
