"""Where pycrdt's failures become typed errors.

yrs reports some malformed input by panicking, and pyo3 raises a panic as `PanicException`, which derives
from `BaseException`, not `Exception`: an ordinary `except Exception` lets it through and it kills whatever
task applied the update. Applying stored or received bytes goes through here.
"""

from __future__ import annotations

import asyncio

from pycrdt import Doc, get_state

from collab.errors import MalformedMessage


def apply_update_safely(doc: Doc, update: bytes) -> None:
    """Apply an update, turning yrs panics (a `BaseException`) and decode errors into `MalformedMessage`.

    The update is decoded on its own first, so most garbage is refused before it touches the document.
    """
    try:
        get_state(update)
        doc.apply_update(update)
    except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
        raise
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        raise MalformedMessage(f"update refused: {type(exc).__name__}") from exc
