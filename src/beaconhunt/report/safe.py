"""The command line's one way to speak on a terminal (:class:`Messages`).

Domain names, URLs and user agents come from the network: they can hold ANSI
escape sequences, other control characters or bidirectional overrides that
rewrite what an analyst sees. Everything shown in a terminal goes through
:func:`terminal_text`, and every message of the command line through
:class:`Messages`.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from beaconhunt.util.text import terminal_text

__all__ = ["Messages"]


class Messages:
    """The one way the command line speaks on a terminal: every message is data.

    Each line of a message goes through :func:`terminal_text` (control, format and
    bidi characters escaped) and is printed as a Rich ``Text``, never parsed as markup
    or emoji codes, so a log line holding ``[/x]`` cannot crash the run and a file
    named ``[link=https://...]`` cannot put a live hyperlink on the analyst's
    terminal. ``label`` (``warning``) is the only styled part, and it is ours.
    """

    def __init__(self, console: Console | None = None, max_len: int = 2000) -> None:
        self.console = console or Console(
            stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False
        )
        self.max_len = max_len

    def say(self, message: object, label: str | None = None, style: str = "yellow") -> None:
        """Print ``message`` (may span lines); ``label`` prefixed as ``label: ``."""
        lines = str(message).split("\n")
        for i, line in enumerate(lines):
            text = Text()
            if label and i == 0:
                text.append(f"{label}:", style=style)
                text.append(" ")
            text.append(terminal_text(line, self.max_len) if line else "")
            self.console.print(text)
