"""The pane registry: a pane is one module (ID, TITLE, HELP, READS, draw) plus one line in
rnntui.widgets.PANES, which the main screen, the help screen, lessons and the classroom read."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnntui.widgets import PANES, pane_class
from rnntui.widgets.base import Pane


@pytest.mark.parametrize("pane_id", PANES)
def test_each_pane_module_says_all_about_its_pane(pane_id):
    cls = pane_class(pane_id)
    assert issubclass(cls, Pane) and cls is not Pane
    assert cls.ID == pane_id
    assert cls.TITLE and cls.READS and cls.PLACE in ("top", "grid")
    assert len(cls.HELP) > 40 and cls.HELP.endswith(".")
    assert "draw" in vars(cls)


def test_an_unknown_pane_is_refused_by_name():
    with pytest.raises(KeyError, match="no pane 'nope'"):
        pane_class("nope")


def test_help_lessons_and_the_classroom_read_the_pane_list():
    from rnntui.classroom import protocol
    from rnntui.lessons import schema
    from rnntui.screens.help import pane_help
    assert [pane_id for pane_id, _ in pane_help()] == list(PANES)
    assert dict(pane_help())["loss"] == pane_class("loss").HELP
    assert schema.PANES is PANES and protocol.PANES is PANES


def test_the_grid_holds_six_panes_under_one_across_the_top():
    """app.tcss's #panes grid is 3 x 2: a pane added to the grid needs a cell there. Across
    the top one pane shows at a time: the Sequence pane, or the Batch pane in its place when
    the scenario has padded batches (app.tcss's -batch rules). On an encoder-decoder
    (MainScreen.-s2s) the grid is 2 x 2 and holds its three panes, the first (the Attention
    pane) two rows high; the panes only it shows are hidden elsewhere."""
    places = [pane_class(pane_id).PLACE for pane_id in PANES]
    assert [p for p in PANES if pane_class(p).PLACE == "top"] == ["sequence", "batch"]
    tcss = (Path(__file__).parents[2] / "rnntui" / "app.tcss").read_text(encoding="utf-8")
    flat = " ".join(tcss.split())
    assert "#batch { display: none;" in flat
    assert "MainScreen.-batch #batch { display: block; }" in flat
    assert "MainScreen.-batch #sequence { display: none; }" in flat
    cell = [p for p in PANES if pane_class(p).PLACE == "grid" and not pane_class(p).ONLY_SEQ2SEQ]
    s2s = [p for p in PANES if pane_class(p).PLACE == "grid" and pane_class(p).SEQ2SEQ]
    assert places.count("grid") == len(cell) + 1 and len(cell) == 6 and len(s2s) == 3
    assert pane_class(s2s[0]).ONLY_SEQ2SEQ
    assert f"MainScreen.-s2s #{s2s[0]} {{ display: block; row-span: 2;" in flat
    for p in PANES:
        if pane_class(p).PLACE == "grid" and not pane_class(p).SEQ2SEQ:
            assert f"MainScreen.-s2s #{p}" in flat  # hidden there
