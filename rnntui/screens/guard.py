"""What every screen of rnntui shares: once quitting has begun, no other action runs, and a
dialog closes only once however many Enter or Esc presses are queued."""

from __future__ import annotations

#: The actions that still run while the app is quitting.
QUIT_ACTIONS = ("quit", "app.quit")


class QuitGuard:
    """A Screen mixin: keys queued behind ``q`` (one write over a laggy link) do nothing."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if getattr(self.app, "quitting", False) and action not in QUIT_ACTIONS:  # type: ignore[attr-defined]
            return False
        return super().check_action(action, parameters)  # type: ignore[misc]


#: Below this many rows (60x20) the picker and the lesson list show one line per item, with
#: the highlighted item's text under the list.
SHORT_ROWS = 24


class Dialog(QuitGuard):
    """A modal mixin: closing tolerates a second Enter or Esc queued before the first one took
    effect."""

    def close_once(self, result=None) -> None:
        if self.is_current:  # type: ignore[attr-defined]  # a queued key must not pop the screen below
            self.dismiss(result)  # type: ignore[attr-defined]

    @staticmethod
    def fit_options(options, labels: list) -> None:
        """Give each option of ``options`` (an OptionList of one-line items) its label from
        ``labels`` (Rich Texts), cut at a space with `` …`` where it is wider than the list
        (Textual's own ellipsis cuts mid-word: "Only the wo…")."""
        from ..widgets._draw import fit
        width = options.scrollable_content_region.width
        if width < 2:
            return  # (not laid out yet: the next resize fits them)
        for i, label in enumerate(labels):
            options.replace_option_prompt_at_index(i, fit(label.copy(), width))
