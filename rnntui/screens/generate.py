"""The generation dialog (key w): the network writes after a prime, or forecasts a series.

Text: a length, a temperature (0 = greedy, 0.1–2), a seed and a prime (by default the sequence
up to t); Enter samples with the weights on screen, and what was written becomes the sequence
stepped through, like typed text. Series: a length; the forecast is free-running from the
sequence up to t (the model's own predictions fed back), drawn against the truth where the
series has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from engine.types import ScenarioError, Sequence

from ..safe_text import visible
from .guard import Dialog

#: What the boxes start with.
DEFAULT_LENGTH = {"text": 200, "series": 60}
DEFAULT_TEMPERATURE = "0.8"
#: The longest prime the box takes (characters).
MAX_PRIME = 4000


@dataclass
class Written:
    """What the dialog hands back: the sequence to step through, the text it is made of (None
    for a series), where to put the cursor (the last step of the prime: its output is the
    first thing written), and one line saying what was done."""

    sequence: Sequence
    text: str | None
    t: int
    message: str


class GenerateScreen(Dialog, ModalScreen[Written | None]):
    """Ask for the settings, generate with ``params`` after ``sequence`` up to ``t``."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="generate-cancel")]
    DEFAULT_CSS = """
    GenerateScreen #gen-box { height: auto; }
    GenerateScreen .gen-row { height: 1; margin-bottom: 1; }
    GenerateScreen .gen-name { width: 14; color: $text-muted; }
    GenerateScreen .gen-row Input { border: none; height: 1; padding: 0 1; width: 1fr; }
    GenerateScreen #gen-error { color: $error; height: auto; }
    GenerateScreen #gen-about { margin-bottom: 1; }
    """

    def __init__(self, scenario, params, sequence: Sequence, t: int, *, epoch: int = 0,
                 knob_note: str = "", cursor_blink: bool = True) -> None:
        super().__init__()
        self.scenario = scenario
        self.params = params
        self.sequence = sequence
        self.t = max(0, min(int(t), len(sequence) - 1))
        self.epoch = epoch
        self.knob_note = knob_note
        self.cursor_blink = cursor_blink

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
                    yield Input(self._prime_text(), id="gen-prime", max_length=MAX_PRIME)
            yield Static("", id="gen-error")
        yield Footer(compact=True, show_command_palette=False)

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

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            result = self.generate(self._value("gen-length"), self._value("gen-temperature"),
                                   self._value("gen-seed"), self._value("gen-prime"))
        except ScenarioError as err:
            self._error(visible(err.message if not err.path else str(err)))
            return
        self.close_once(result)

    def generate(self, length: str, temperature: str = "", seed: str = "",
                 prime: str = "") -> Written:
        """The settings as typed -> what was written (ScenarioError with a reason if not)."""
        from engine.generate import MAX_LENGTH, TEMPERATURE_RANGE
        try:
            n = int(length)
        except ValueError:
            raise ScenarioError(f"length: give a whole number from 1 to {MAX_LENGTH}") from None
        if not 1 <= n <= MAX_LENGTH:
            raise ScenarioError(f"length: give a whole number from 1 to {MAX_LENGTH}, "
                                f"got {n}")
        if not self.is_text:
            return self._forecast(n)
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
        from engine.generate import generate_text
        from engine.scenario import encode_text
        g = generate_text(self.scenario, self.params, prime, n, temp, s)
        sequence = encode_text(self.scenario, g.text)
        how = "greedy" if temp == 0 else f"temperature {temp:g}, seed {s}"
        sep = "" if (self.scenario.unit or "word") == "char" else " "
        shown = sep.join(g.generated).replace("\n", "⏎")
        return Written(sequence, g.text, g.prime - 1,
                       f"Wrote {n} tokens ({how}): {shown[:160]}")

    def _forecast(self, n: int) -> Written:
        from engine.csvdata import normalization_of
        from engine.generate import forecast_sequence
        norm = normalization_of(self.scenario)
        label = (lambda z: f"{float(norm.invert(z)):.6g}") if norm is not None else None
        seq, ahead = forecast_sequence(self.scenario, self.params, self.sequence, self.t, n,
                                       label)
        known = int(seq.mask[self.t:].sum())
        return Written(seq, None, self.t,
                       f"Forecast {n} steps from t = {self.t}, free-running; the truth is "
                       f"known for {known} of them.")

    def _error(self, message: str) -> None:
        for error in self.query("#gen-error").results(Static):
            error.update(Text(message, style="bold"))

    def action_cancel(self) -> None:
        self.close_once(None)
