"""``rnntui serve``: the app in web browsers through textual-serve, needing nothing but this host.

textual-serve's own page links a web font from Google; ours (templates/app_index.html) uses the
Roboto Mono that textual-serve ships in its static folder, so the page makes no request beyond
the address it is served from.
"""

from __future__ import annotations

from pathlib import Path

from textual_serve.server import Server

TEMPLATES = Path(__file__).resolve().parent / "templates"


class RnnServer(Server):
    """textual-serve's Server with rnntui's page."""

    def __init__(self, command: str, host: str, port: int) -> None:
        super().__init__(command, host=host, port=port, title="rnntui",
                         templates_path=TEMPLATES)


def serve(command: str, host: str, port: int) -> None:
    """Serve ``command`` (one app process per browser tab) until interrupted."""
    RnnServer(command, host, port).serve()
