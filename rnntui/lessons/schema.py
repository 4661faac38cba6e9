"""What a lesson is once read: a Lesson of Steps, each a position, words, a task or a question."""

from __future__ import annotations

from dataclasses import dataclass

from ..position import Position
from ..widgets import PANES  # the panes a step may point at (their ids on the main screen)
from .conditions import Condition


@dataclass(frozen=True)
class Task:
    """Something to do with the app's own keys: ``do`` says it, ``condition`` sees it done,
    ``then`` says what it showed. ``keys`` are the keys that do it (for the course's test)."""

    do: str
    condition: Condition
    then: str
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """Predict before the reveal: pick one of ``choices`` (1-based ``answer`` is right)."""

    prompt: str
    choices: tuple[str, ...]
    answer: int
    why: str


@dataclass(frozen=True)
class Step:
    """One screen of a lesson: the state it opens on, the narration, a task or a question."""

    #: 0-based position in the lesson.
    index: int
    #: A few words naming the step (optional).
    title: str | None
    #: The scenario as a position names it: a built-in name, or a resolved file path.
    scenario: str
    cell: str | None
    epoch: int
    t: int
    phase: str
    knob: int
    grads: str
    tau: int | None
    text: str | None
    point: str | None
    maximize: bool
    narration: str
    task: Task | None = None
    question: Question | None = None
    #: The line of its ``[[step]]`` header in the lesson file.
    line: int | None = None
    #: A step on the lab screen: the lab (a built-in lab's name or a resolved lab file path),
    #: whose sweep runs while the step shows; None: a step on the main screen.
    lab: str | None = None
    #: On a lab step, the cell whose point is selected (at the lab's longest swept value).
    select: str | None = None
    #: An encoder-decoder's attention when not the scenario's own ("none", "additive", "dot").
    attention: str | None = None

    @property
    def position(self) -> Position:
        """The state the step opens on."""
        return Position(scenario=self.scenario, cell=self.cell, attention=self.attention,
                        epoch=self.epoch, t=self.t,
                        phase=self.phase, knob=self.knob, text=self.text, grads=self.grads,
                        target=self.tau)


@dataclass(frozen=True)
class Lesson:
    """A titled, ordered list of steps read from one file."""

    #: Its short name: the file's stem without a leading number (``01_recurrence`` ->
    #: ``recurrence``).
    name: str
    title: str
    summary: str
    minutes: int
    steps: tuple[Step, ...]
    #: The file it was read from.
    source: str
    #: Its place in the built-in course (1-based), None for a lesson file of one's own.
    number: int | None = None
    #: Sent by a presenter (loads_lesson(sent=True)): its progress marks are kept apart.
    sent: bool = False

    def __len__(self) -> int:
        return len(self.steps)
