"""The generation dialog (key w): the network writes after a prime, or forecasts a series.

Text: a length, a temperature (0 = greedy, 0.1–2), a seed and a prime (by default the sequence
up to t); Enter samples with the weights on screen, and what was written becomes the sequence
stepped through, like typed text. Series: a length; the forecast is free-running from the
sequence up to t (the model's own predictions fed back), drawn against the truth where the
series has it.

The writing runs in a worker thread (an LSTM's longest text takes about a second): the dialog
says "writing…" meanwhile, Esc stops it (a second Esc closes the dialog) and q quits. What was
written is recorded as a Generation (rnntui.position), so its position makes it again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from engine.analysis import Cancelled
from engine.types import ScenarioError, Sequence

from ..position import Generation
from ..safe_text import visible
from ..sequences import generated
from .guard import Dialog
from .keybar import KeyBar

#: What the boxes start with.
DEFAULT_LENGTH = {"text": 200, "series": 60}
DEFAULT_TEMPERATURE = "0.8"
#: The longest prime the box takes (characters).
MAX_PRIME = 4000


@dataclass
class Written:
    """What the dialog hands back: the sequence to step through, the text it is made of (None
    for a series), where to put the cursor (the last step of the prime: its output is the
    first thing written), one line saying what was done, and how it was made (its epoch and
    knob filled in; a forecast's ``example`` the training sequence it started from)."""

    sequence: Sequence
    text: str | None
    t: int
    message: str
    origin: Generation | None = None


class GenerateScreen(Dialog, ModalScreen[Written | None]):
    """Ask for the settings, generate with the weights of ``view`` after its sequence up to t.

    ``writing`` is True while the worker writes."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="generate-cancel"),
                Binding("q", "app.quit", "quit", show=False, id="generate-quit")]
    DEFAULT_CSS = """
    GenerateScreen #gen-box { height: auto; }
    GenerateScreen .gen-row { height: 1; margin-bottom: 1; }
    GenerateScreen .gen-name { width: 14; color: $text-muted; }
    GenerateScreen .gen-row Input { border: none; height: 1; padding: 0 1; width: 1fr; }
    GenerateScreen #gen-error { color: $error; height: auto; }
    GenerateScreen #gen-about { margin-bottom: 1; }
    """

    def __init__(self, view, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.view = view
        self.scenario = view.scenario
        self.params = view.params
        self.sequence = view.sequence
        self.t = max(0, min(int(view.t), len(view.sequence) - 1))
        self.epoch = view.epoch
        self.knob_note = f", W_h ×{view.wh_scale:.3g}" if view.knob else ""
        self.cursor_blink = cursor_blink
        self.writing = False
        self._stop = threading.Event()
        # The prime box starts with the sequence up to t, which comes from a file or a peer: it
        # shows it with every control character made visible (rnntui.safe_text), never raw.
        self._prime_raw = self._prime_text()
        self._prime_shown = visible(self._prime_raw)
        self._prime_escapes = {visible(c): c for c in set(self._prime_raw) if visible(c) != c}

    @property
    def is_text(self) -> bool:
        return self.scenario.kind == "text"

    def _prime_text(self) -> str:
        toks = self.sequence.tokens or []
        part = toks[:self.t + 1]
        joined = "".join(part) if (self.scenario.unit or "word") == "char" else " ".join(part)
        return joined[-MAX_PRIME:]

    def compose(self) -> ComposeResult:
        kind = self.scenario.kind
        weights = f"the weights of epoch {self.epoch}{self.knob_note}"
        if self.is_text:
            about = (f"Samples one token after another from the output probabilities, with "
                     f"{weights}, each fed back as the next input. Temperature: 0 always takes "
                     f"the most probable token (greedy); 0.1–2 draws at random, low is safe, "
                     f"high is wild. The same seed gives the same text.")
        else:
            about = (f"A free-running forecast from the sequence up to t = {self.t}, with "
                     f"{weights}: each prediction is fed back as the next input. The Output "
                     f"pane then draws it against the truth where the series has it.")
        with Vertical(id="gen-box", classes="dialog") as box:
            box.border_title = "Let the network write" if self.is_text else "Forecast"
            box.border_subtitle = "Enter generates · Tab next box · Esc cancels"
            yield Static(about, id="gen-about", classes="label")
            with Horizontal(classes="gen-row"):
                yield Static("length", classes="gen-name")
                yield Input(str(DEFAULT_LENGTH.get(kind, 60)), id="gen-length", max_length=6,
                            restrict=r"[0-9]*")
            if self.is_text:
                with Horizontal(classes="gen-row"):
                    yield Static("temperature", classes="gen-name")
                    yield Input(DEFAULT_TEMPERATURE, id="gen-temperature", max_length=8,
                                restrict=r"[0-9.]*")
                with Horizontal(classes="gen-row"):
                    yield Static("seed", classes="gen-name")
                    yield Input("0", id="gen-seed", max_length=18, restrict=r"[0-9]*")
                with Horizontal(classes="gen-row"):
                    yield Static("prime", classes="gen-name")
                    yield Input(self._prime_shown, id="gen-prime",
                                max_length=max(MAX_PRIME, len(self._prime_shown)))
            yield Static("", id="gen-error")
        yield KeyBar()

    def on_mount(self) -> None:
        for field in self.query(Input).results(Input):
            field.cursor_blink = self.cursor_blink
        first = self.query("#gen-length").results(Input)
        for field in first:
            field.focus()

    def _value(self, ident: str) -> str:
        for field in self.query(f"#{ident}").results(Input):
            return field.value
        return ""

    def prime_typed(self, typed: str) -> str:
        """The prime the box's text ``typed`` stands for: the sequence's own text when the box
        is as it opened; else ``typed`` with the escapes the box opened with (e.g. ``␛`` for an
        ESC of the sequence) read back as the characters they show."""
        if typed == self._prime_shown:
            return self._prime_raw
        for shown in sorted(self._prime_escapes, key=len, reverse=True):
            typed = typed.replace(shown, self._prime_escapes[shown])
        return typed

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.writing:
            return
        try:
            spec = self.settings(self._value("gen-length"), self._value("gen-temperature"),
                                 self._value("gen-seed"),
                                 self.prime_typed(self._value("gen-prime")))
        except ScenarioError as err:
            self._error(visible(err.message if not err.path else str(err)))
            return
        self._set_writing(True)
        self._stop = threading.Event()
        self.run_worker(lambda: self._write(spec, self._stop), thread=True,
                        name="generate", group="generate", exclusive=True)

    def _write(self, spec: Generation, stop: threading.Event) -> None:
        """In the worker: write, then hand the result (or the reason it failed) to the UI."""
        worker = get_current_worker()

        def should_stop() -> bool:
            return (stop.is_set() or worker.is_cancelled
                    or getattr(self.app, "quitting", False))
        try:
            result: Written | str | None = self.make(spec, should_stop)
        except Cancelled:
            result = None
        except ScenarioError as err:
            result = err.message if not err.path else str(err)
        except (MemoryError, FloatingPointError, ValueError) as err:
            result = f"could not write: {err}"
        if not should_stop():
            self.app.call_from_thread(self._written, result)

    def _written(self, result: "Written | str | None") -> None:
        self._set_writing(False)
        if isinstance(result, Written):
            self.close_once(result)
        elif isinstance(result, str):
            self._error(visible(result))

    def _set_writing(self, on: bool) -> None:
        self.writing = on
        for field in self.query(Input).results(Input):
            field.disabled = on
        if on:
            self._error("writing… (Esc stops)", style="bold reverse")
        else:
            for first in self.query("#gen-length").results(Input):
                first.focus()

    def make(self, spec: Generation, should_stop=None) -> Written:
        """What ``spec`` writes with the weights of the view the dialog opened on (ScenarioError
        with a reason; engine.analysis.Cancelled when ``should_stop()`` says so)."""
        view = self.view
        if not spec.is_text:
            spec = Generation(spec.length, start=self.t)
        sequence, text, t, message = generated(view, spec, should_stop)
        origin = Generation(spec.length, spec.temperature, spec.seed, spec.prime, spec.start,
                            view.epoch, view.knob, None if spec.is_text else view.example)
        return Written(sequence, text, t, message, origin)

    def generate(self, length: str, temperature: str = "", seed: str = "",
                 prime: str = "") -> Written:
        """The settings as typed -> what was written, here and now (ScenarioError with a
        reason if not)."""
        return self.make(self.settings(length, temperature, seed, prime))

    def settings(self, length: str, temperature: str = "", seed: str = "",
                 prime: str = "") -> Generation:
        """The settings as typed -> a Generation (ScenarioError with a reason if not)."""
        from engine.generate import MAX_LENGTH, TEMPERATURE_RANGE
        try:
            n = int(length)
        except ValueError:
            raise ScenarioError(f"length: give a whole number from 1 to {MAX_LENGTH}") from None
        if not 1 <= n <= MAX_LENGTH:
            raise ScenarioError(f"length: give a whole number from 1 to {MAX_LENGTH}, "
                                f"got {n}")
        if not self.is_text:
            return Generation(n, start=self.t)
        lo, hi = TEMPERATURE_RANGE
        try:
            temp = float(temperature)
        except ValueError:
            temp = -1.0
        if not (temp == 0 or lo <= temp <= hi):
            raise ScenarioError(f"temperature: 0 (greedy) or from {lo:g} to {hi:g}, "
                                f"got {temperature!r}")
        try:
            s = int(seed or "0")
        except ValueError:
            raise ScenarioError("seed: give a whole number of 0 or more") from None
        from engine.generate import prime_tokens
        prime_tokens(self.scenario, prime)  # (a bad prime is refused before any writing)
        return Generation(n, temp, s, prime)

    def _error(self, message: str, style: str = "bold") -> None:
        for error in self.query("#gen-error").results(Static):
            error.update(Text(message, style=style))

    def action_cancel(self) -> None:
        """Esc: stop the writing (the dialog stays, to write again), else close."""
        if self.writing:
            self._stop.set()
            self.workers.cancel_group(self, "generate")
            self._set_writing(False)
            self._error("Stopped: nothing was written. Enter writes again, Esc closes.")
            return
        self.close_once(None)

    def on_unmount(self) -> None:
        self._stop.set()
