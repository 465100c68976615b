"""Text fit for a terminal: stored or typed text never drives the terminal it is shown on.

An older store may hold control characters (the models refuse them now), and a name typed on
the command line may hold anything. Shown as they are, ESC (``\\x1b``) and CSI (``\\x9b``)
start escape sequences that can recolour, move the cursor, rewrite what is on the screen or
set the window title. ``printable`` writes every C0 control character but tab and line feed,
DEL and every C1 control character as a visible escape (``\\x1b``) instead.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every terminal control character shown as ``\\xHH``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
