"""Clinical routes: notes, safety check, knowledge-base search, de-identification.

Each calls into another medsage package through :mod:`medsage.server.services`;
when that package is not part of this build the route answers 501.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from medsage.server import services
from medsage.server.audit import findings_summary
from medsage.server.deps import Caller, service
from medsage.server.errors import APIError
from medsage.server.schemas import MAX_TEXT, DeidRequest, NoteRequest, SafetyRequest
from medsage.types import DISCLAIMER

router = APIRouter(prefix="/v1", tags=["clinical"])
_SAFE_NAME = re.compile(r"^[\w\-. ()\u4e00-\u9fff]{1,200}$")
UPLOAD_TYPES = (".txt", ".json", ".md", ".csv", ".vtt", ".srt")


@router.post("/deid")
async def deid(body: DeidRequest, request: Request, _: Caller) -> dict[str, Any]:
    """Replace names, dates, ids and contacts in ``text`` with placeholders."""
    request.state.deid_applied = True  # the audit log never keeps the raw text
    text, entities = await services.deid(body.text, body.language)
    return {"text": text, "entities": entities, "deid_applied": True}


@router.post("/safety/check")
async def safety_check(body: SafetyRequest, request: Request,
                       _: Caller) -> dict[str, Any]:
    """Check a medication list (and/or free text) against the patient context."""
    if not body.medications and not (body.text or "").strip():
        raise APIError(400, "give medications or text to check", "empty_input", "medications")
    text = body.text
    deid_applied = False
    if body.deid and text:
        request.state.deid_applied = True
        text, _entities = await services.deid(text, body.language)
        deid_applied = True
    findings = await services.safety_check(
        body.medications, text, body.patient.model_dump(), body.language,
        service(request).config.safety_options)
    request.state.findings = findings_summary(findings)
    blocked = any(f.get("action") == "block" for f in findings)
    return {"findings": findings, "blocked": blocked, "deid_applied": deid_applied,
            "disclaimer": DISCLAIMER}


@router.get("/kb/search")
async def kb_search(request: Request, _: Caller,
                    q: Annotated[str, Query(min_length=1, max_length=2000)],
                    k: Annotated[int, Query(ge=1, le=50)] = 5) -> dict[str, Any]:
    """Search the configured knowledge base."""
    path = service(request).config.kb_path
    if not path:
        raise APIError(501, "no knowledge base configured (set [kb] path or MEDSAGE_KB_PATH)",
                       "kb_not_configured")
    hits = await services.kb_search(path, q, k)
    return {"object": "list", "query": q, "data": hits}


@router.post("/notes")
async def notes(request: Request, _: Caller) -> dict[str, Any]:
    """Transcript -> structured note, from JSON or a multipart upload (field ``file``)."""
    body = await _note_request(request)
    svc = service(request)
    model_id = body.model or svc.config.default_model
    request.state.model = model_id
    transcript = body.transcript
    deid_applied = False
    if body.deid:
        request.state.deid_applied = True
        transcript, _entities = await services.deid(transcript, body.language)
        deid_applied = True
    model = await svc.get_model(model_id)
    result = await services.make_note(transcript, model, body.language, body.template)
    request.state.findings = findings_summary(result.get("findings", []))
    result.update({"model": model_id, "deid_applied": deid_applied, "disclaimer": DISCLAIMER})
    return result


async def _note_request(request: Request) -> NoteRequest:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        return await _note_upload(request)
    if not ctype.startswith("application/json"):
        raise APIError(415, "send JSON or multipart/form-data", "unsupported_media_type")
    from pydantic import ValidationError

    try:
        raw = await request.body()
        return NoteRequest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            raise APIError(400, "request body is not valid JSON", "invalid_json") from exc
        param = ".".join(str(p) for p in first.get("loc", ()))
        raise APIError(422, f"invalid field {param}: {first.get('msg')}", "invalid_type",
                       param) from exc


async def _note_upload(request: Request) -> NoteRequest:
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:  # noqa: BLE001 - malformed multipart bodies
        if getattr(exc, "status_code", None) == 413:
            raise
        raise APIError(400, "malformed multipart body", "invalid_multipart") from exc
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise APIError(400, "multipart body needs a 'file' field", "missing_file", "file")
    name = str(getattr(upload, "filename", "") or "")
    check_upload_name(name)
    data = await upload.read(MAX_TEXT * 4 + 1)
    if len(data) > MAX_TEXT * 4:
        raise APIError(413, "uploaded transcript is too large", "file_too_large", "file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise APIError(400, "uploaded transcript is not UTF-8 text", "bad_encoding", "file") from exc
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        return NoteRequest(transcript=text, model=fields.get("model") or None,
                           language=fields.get("language") or None,
                           template=fields.get("template") or None,
                           deid=fields.get("deid", "").lower() in ("1", "true", "on", "yes"))
    except ValueError as exc:
        raise APIError(422, "invalid upload fields or empty transcript", "invalid_type") from exc


def check_upload_name(name: str) -> None:
    """Reject upload names with paths, traversal or odd characters (never used as a path).

    Raises:
        APIError: 400 for a bad name, 415 for an unsupported extension.
    """
    if (not name or "/" in name or "\\" in name or ".." in name or name.startswith(".")
            or "\x00" in name or not _SAFE_NAME.match(name)):
        raise APIError(400, "invalid upload file name", "invalid_filename", "file")
    if not name.lower().endswith(UPLOAD_TYPES):
        raise APIError(415, f"upload a text transcript ({', '.join(UPLOAD_TYPES)})",
                       "unsupported_file_type", "file")
