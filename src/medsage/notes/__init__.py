"""Medical-record (note) generation from doctor–patient conversations.

The flow is one way: :mod:`~medsage.notes.formats` reads a transcript file into a
:class:`~medsage.notes.transcript.Transcript` (with :mod:`~medsage.notes.roles`
fixing missing or swapped speaker tags), :mod:`~medsage.notes.generate` drafts a
note section by section with map-reduce over transcript chunks,
:mod:`~medsage.notes.grounding` links every note sentence to the turns that
support it (flagging unsupported sentences and listing omissions), and
:mod:`~medsage.notes.service` adds coding suggestions and the safety check.
"""

from __future__ import annotations

from medsage.notes.schema import Note, NoteSection, NoteSentence
from medsage.notes.transcript import Transcript, Turn

__all__ = ["Note", "NoteSection", "NoteSentence", "Transcript", "Turn"]
