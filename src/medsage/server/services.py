"""Adapters from the service to the other medsage packages.

Every adapter returns plain JSON values and turns a user error into a 422
:class:`~medsage.server.errors.APIError`. The packages are imported inside the
adapter that needs them, so starting the server does not load them all.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from medsage.errors import MedsageError
from medsage.models.base import Model
from medsage.server.errors import APIError
from medsage.server.schemas import jsonable

log = logging.getLogger("medsage.server")


def _user_error(exc: MedsageError) -> APIError:
    return APIError(422, str(exc), "unprocessable")


# -- de-identification ----------------------------------------------------------
async def deid(text: str, language: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Return ``(redacted text, entities)``."""
    from medsage.safety.deid import deidentify

    try:
        result = await anyio.to_thread.run_sync(lambda: deidentify(text))
    except MedsageError as exc:
        raise _user_error(exc) from exc
    return _deid_result(result)


def _deid_result(result: Any) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(result, tuple) and len(result) == 2:
        text, entities = result
    else:
        text = getattr(result, "text", None)
        entities = getattr(result, "entities", None) or getattr(result, "spans", None) or []
    if not isinstance(text, str):
        raise APIError(501, "de-identification returned an unknown shape", "not_implemented")
    return text, [_entity(e) for e in jsonable(list(entities))]


def _entity(e: Any) -> dict[str, Any]:
    if not isinstance(e, dict):
        return {"value": str(e)}
    # the audit and API never need the original identifier back
    return {k: v for k, v in e.items() if k not in ("text", "original", "value")}


# -- safety ---------------------------------------------------------------------
async def safety_check(medications: list[str], text: str | None, patient: dict[str, Any],
                       language: str | None, options: dict[str, Any]) -> list[dict[str, Any]]:
    """Findings for a medication list / free text in a patient context."""
    from medsage.safety import check

    try:
        result = await anyio.to_thread.run_sync(
            lambda: check(medications=medications, text=text, patient=patient, **options))
    except MedsageError as exc:
        raise _user_error(exc) from exc
    findings: Any = getattr(result, "findings", result)
    return [jsonable(f) for f in findings]


# -- knowledge base ---------------------------------------------------------------
_KBS: dict[str, Any] = {}


async def kb_search(path: str, query: str, k: int, mode: str = "hybrid") -> list[dict[str, Any]]:
    """Top-``k`` hits from the knowledge base at ``path`` (opened once per process)."""
    from medsage.kb import KnowledgeBase

    def run() -> list[Any]:
        kb = _KBS.get(path)
        if kb is None:
            kb = _KBS[path] = KnowledgeBase(path)
        use = mode if (mode != "hybrid" or kb.has_dense) else "bm25"
        return list(kb.search(query, k=k, mode=use))

    try:
        hits = await anyio.to_thread.run_sync(run)
    except MedsageError as exc:
        raise _user_error(exc) from exc
    return [public_citation(h.to_dict() if hasattr(h, "to_dict") else jsonable(h)) for h in hits]


def public_citation(item: Any) -> Any:
    """A hit or citation without server file paths (only http(s) links are shown to clients)."""
    if not isinstance(item, dict):
        return item
    out = dict(item)
    for name in ("url", "path", "file"):
        value = out.get(name)
        if isinstance(value, str) and value and not value.lower().startswith(("http://", "https://")):
            out[name] = ""
    return out


# -- notes ------------------------------------------------------------------------
async def make_note(transcript: str, model: Model, language: str | None,
                    template: str | None) -> dict[str, Any]:
    """A structured, grounded note as JSON: ``{"note": …, "turns": […], "findings": […]}``.

    Only built-in templates can be named (a request never makes the server read a path).
    """
    from medsage.notes.service import NoteOptions
    from medsage.notes.service import make_note as make_structured_note
    from medsage.notes.templates import builtin_templates

    if template and template not in builtin_templates():
        raise APIError(400, f"unknown note template '{template}' (known: "
                            f"{', '.join(builtin_templates())})", "unknown_template",
                       "template")
    lang = language if language in ("en", "zh") else "auto"
    try:
        parsed = await anyio.to_thread.run_sync(_parse_transcript, transcript, lang)
        note = await make_structured_note(parsed, model, NoteOptions(template=template, lang=lang))
    except MedsageError as exc:
        raise _user_error(exc) from exc
    data = note.to_dict()
    findings = list((data.get("safety") or {}).get("findings") or [])
    return {"note": jsonable(data), "turns": [t.to_dict() for t in parsed.turns],
            "markdown": _markdown(note), "findings": jsonable(findings)}


def _parse_transcript(text: str, lang: str) -> Any:
    from medsage.notes.service import transcript_from_text

    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        from medsage.notes.formats import parse_json_turns
        from medsage.notes.roles import infer_roles

        try:
            return infer_roles(parse_json_turns(text, source="upload", lang=lang))
        except MedsageError:
            pass  # not a JSON transcript after all: read it as text
    return transcript_from_text(text, lang=lang, source="upload")


def _markdown(note: Any) -> str:
    from medsage.notes.render import to_markdown

    return str(to_markdown(note))
