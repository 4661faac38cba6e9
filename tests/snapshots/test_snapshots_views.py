"""Snapshots of what the View core made possible: gated cells, compare mode, the per-loss
gradient view, the hidden state's path, and the smallest supported terminal (60x20).

Regenerate after a deliberate change with
``pytest tests/snapshots/test_snapshots_views.py --snapshot-update`` and look at every
changed picture (``../shared/tools/svg2png``) before accepting it.
"""

from __future__ import annotations

import pytest
from helpers import press_and_settle, quiet_app, settle

#: Every scenario opens trained, as from a warm training cache (conftest.py: trained once per
#: test process, not once per test): the pictures are the same.
pytestmark = pytest.mark.warm_cache

TINY, SMALL, LARGE = (60, 20), (80, 24), (120, 40)
SIZES = {"80x24": SMALL, "120x40": LARGE}


def keys(*pressed: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await press_and_settle(pilot, pressed)

    return run_before


class TestCells:
    """The LSTM's and the GRU's own Step pane, gates and c_t, forward and backward."""

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    @pytest.mark.parametrize("cell", ["lstm", "gru"])
    def test_gated_step(self, snap_compare, cell, size):
        app = quiet_app("long", at=f"cell={cell},t=9")
        assert snap_compare(app, terminal_size=SIZES[size], run_before=keys())

    def test_lstm_backward(self, snap_compare):
        app = quiet_app("king", at="cell=lstm,t=3,phase=backward")
        assert snap_compare(app, terminal_size=LARGE, run_before=keys())


class TestCompare:
    """The vanilla RNN and the LSTM on long, one cursor on the step whose target is the verb."""

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    def test_compare_long(self, snap_compare, size):
        app = quiet_app("long", at='cells="rnn,lstm",epoch=100,t=9')
        assert snap_compare(app, terminal_size=SIZES[size], run_before=keys())

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    def test_compare_attention(self, snap_compare, size):
        """reverse with additive attention and without, at decoder step 1."""
        app = quiet_app("reverse", at="t=7")
        assert snap_compare(app, terminal_size=SIZES[size], run_before=keys("C"))


class TestPerLoss:
    """The loss at one target step followed back (v), on long's verb."""

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    def test_per_loss_long(self, snap_compare, size):
        app = quiet_app("long", at="t=9,grads=loss")
        assert snap_compare(app, terminal_size=SIZES[size], run_before=keys())


class TestHiddenPath:
    """sine's hidden state on its two main directions: the loop (Hidden pane maximised)."""

    def test_sine_loop(self, snap_compare):
        app = quiet_app("sine", at="t=120")
        assert snap_compare(app, terminal_size=LARGE, run_before=keys("tab", "tab", "m"))


class TestSmallest:
    """The smallest terminal rnntui draws its panes in: every number whole."""

    @pytest.mark.parametrize("name", ["king", "sine", "echo", "count"])
    def test_60x20(self, snap_compare, name):
        assert snap_compare(quiet_app(name, at="t=3"), terminal_size=TINY, run_before=keys())
