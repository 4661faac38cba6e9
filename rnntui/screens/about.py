"""The scenario's whole description: what it teaches and what to look for (key d)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.types import Scenario

from ..safe_text import visible
from .guard import Dialog
from .keybar import KeyBar


def describe(scenario: Scenario) -> Text:
    """The description, then the model in one line, all shown literally (never as markup)."""
    m = scenario.model
    text = Text()
    text.append(visible(scenario.name), style="bold")
    text.append(f"  ({scenario.kind} scenario)\n\n", style="dim")
    # Paragraphs rewrapped to the dialog's width: a file's line breaks are not the screen's.
    for para in scenario.description.strip().split("\n\n"):
        text.append(visible(" ".join(para.split())) + "\n\n")
    text.append(f"hidden units {m.hidden_size} · {m.activation} → {m.output} · "
                f"{scenario.train.epochs} epochs of {scenario.train.optimizer} · "
                f"seed {m.seed}", style="dim")
    return text


class AboutScreen(Dialog, ModalScreen[None]):
    """What the scenario teaches, in its own words."""

    BINDINGS = [Binding("escape,d,enter", "close", "close", id="about-close"),
                Binding("q", "app.quit", "quit", id="about-quit")]

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario

    def compose(self) -> ComposeResult:
        with Vertical(id="about-box", classes="dialog") as box:
            box.border_title = "About this scenario"
            box.border_subtitle = "Esc or d closes"
            with VerticalScroll(id="about-body"):
                yield Static(describe(self.scenario), id="about-text")
        yield KeyBar()

    def action_close(self) -> None:
        self.close_once(None)
