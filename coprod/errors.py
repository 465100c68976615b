"""The one family of errors a person sees.

Every problem coprod explains to the person who hit it (a store that cannot be opened, a record
refused, an action not allowed, a report that cannot be made) is a ``CoprodError``, and its
message is the sentence they are shown, as it is. The dashboard and the command line catch the
family once each; anything else is a bug, shown without a traceback and logged.
"""

from __future__ import annotations


class CoprodError(Exception):
    """A problem whose message is the sentence the person who hit it is shown."""
