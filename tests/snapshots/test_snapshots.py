"""Snapshot tests: the whole screen as SVG, compared with the accepted pictures in __snapshots__/.

Regenerate after a deliberate change with
``pytest tests/snapshots/test_snapshots.py --snapshot-update``
and look at every changed picture before accepting it. Each test fixes the terminal size and
waits for training and trace workers (``settle``) before the picture is taken.
"""

from __future__ import annotations

import pytest
from helpers import Nav, press_and_settle, quiet_app, settle

from engine.scenario import builtin_names

#: Every scenario opens trained, as from a warm training cache (conftest.py: trained once per
#: test process, not once per test): the pictures are the same.
pytestmark = pytest.mark.warm_cache


SMALL, LARGE = (80, 24), (120, 40)
SIZES = {"80x24": SMALL, "120x40": LARGE}


def keys(*pressed: str, goto: str | None = None, epoch: int | None = None):
    """A run_before that settles, optionally jumps (to the middle or the end of the sequence, to
    an epoch), then presses keys; the keys themselves are tested in test_app.py."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        nav = Nav(app=pilot.app)  # each move shows its View on the main screen
        if goto is not None:
            nav.goto({"middle": nav.T // 2, "end": nav.T - 1}[goto])
        if epoch is not None:
            nav.set_epoch(epoch)
        await press_and_settle(pilot, pressed)

    return run_before


class TestBuiltins:
    """Every built-in scenario, trained as it says, stopped in the middle of its sequence."""

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    @pytest.mark.parametrize("name", builtin_names())
    def test_mid_sequence(self, snap_compare, name, size):
        assert snap_compare(quiet_app(name), terminal_size=SIZES[size],
                            run_before=keys(goto="middle"))


class TestPhases:
    """The backward pass: t walks down from the last step."""

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    def test_backward_pass(self, snap_compare, size):
        assert snap_compare(quiet_app("king"), terminal_size=SIZES[size],
                            run_before=keys("end", "b", "right"))


class TestEpochs:
    """Scrubbing back to the untrained weights."""

    def test_epoch_zero(self, snap_compare):
        assert snap_compare(quiet_app("king"), terminal_size=SMALL,
                            run_before=keys("right", epoch=0))


class TestKnob:
    """W_h scaled up four times (x2): larger gradients, a larger spectral norm."""

    def test_wh_doubled(self, snap_compare):
        assert snap_compare(quiet_app("king"), terminal_size=LARGE,
                            run_before=keys("right", "right", *["plus"] * 4))


class TestMaximise:
    """One pane filling the screen, the status line and the key hints still there."""

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    def test_step_pane_maximised(self, snap_compare, size):
        assert snap_compare(quiet_app("king"), terminal_size=SIZES[size],
                            run_before=keys("right", "tab", "m"))


class TestHelp:
    """The help screen: every key and what each pane shows."""

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    def test_help(self, snap_compare, size):
        assert snap_compare(quiet_app("king"), terminal_size=SIZES[size],
                            run_before=keys("question_mark"))


class TestPicker:
    """Opening a scenario: the built-ins with their descriptions, and a path box."""

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    def test_picker(self, snap_compare, size):
        assert snap_compare(quiet_app("king"), terminal_size=SIZES[size],
                            run_before=keys("o"))

    def test_picker_bad_path(self, snap_compare):
        async def run_before(pilot):
            await keys("o", "tab")(pilot)
            await pilot.press(*"no/such/file.toml", "enter")
            await settle(pilot)

        assert snap_compare(quiet_app("king"), terminal_size=LARGE, run_before=run_before)


class TestTextInput:
    """Typing a sentence for a text scenario."""

    def test_text_input_dialog(self, snap_compare):
        async def run_before(pilot):
            await keys("i")(pilot)
            await pilot.press(*"the dog sits")
            await settle(pilot)

        assert snap_compare(quiet_app("king"), terminal_size=SMALL, run_before=run_before)


class TestTooSmall:
    """Below 60x20 a clear message replaces the panes."""

    def test_too_small(self, snap_compare):
        assert snap_compare(quiet_app("king"), terminal_size=(50, 15), run_before=keys())
