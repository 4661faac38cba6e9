"""Whether a browser tab drives this app, and whether it may use the serving machine's files.

``rnntui serve`` starts one app process per browser tab and sets ``RNNTUI_SERVED`` in its
environment: ``browser`` (the default), or ``browser+files`` when the teacher started serve with
``--allow-files`` (any other value counts as ``browser``). A tab is a stranger to the machine
that serves it: without that flag the app opens no file named from the tab (the path boxes of
``o`` and ``L``), and ``e`` hands its files to the browser as downloads instead of writing them
on the server (always, in a tab).
"""

from __future__ import annotations

import os

#: The environment variable ``rnntui serve`` sets for the app processes it starts.
ENV = "RNNTUI_SERVED"
BROWSER = "browser"
BROWSER_FILES = "browser+files"

#: What the path boxes say when a tab may not open the server's files.
NO_FILES = ("This app runs in a browser: it cannot open files on the machine serving it "
            "(rnntui serve --allow-files allows that).")


def in_browser() -> bool:
    """True in an app process that ``rnntui serve`` started for a browser tab."""
    return bool(os.environ.get(ENV))


def files_refused() -> str | None:
    """:data:`NO_FILES` when a browser tab may not open files of the serving machine, else None."""
    return NO_FILES if in_browser() and os.environ.get(ENV) != BROWSER_FILES else None


__all__ = ["BROWSER", "BROWSER_FILES", "ENV", "NO_FILES", "files_refused", "in_browser"]
