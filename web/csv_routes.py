"""CSV import and CSV/JSON export of a collection over HTTP: parse, call the use-case, render.

`GET /api/collections/{name}/export` streams the file (`collab/services/export.py`).
`POST /api/collections/{name}/import` takes the file itself as the body (`text/csv`, at most
`web.limits.UPLOAD_BYTES`; the body limit lets this one non-JSON body through) and the query parameters
`mapping` (JSON), `mode` (`preview` answers JSON; `commit` streams NDJSON progress lines and the outcome)
and `on_error` (`skip` or `refuse`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from collab.services.csv_import import MAX_BYTES, MODES, ImportRequest, parse_mapping
from web.errors import BadRequest
from web.security import principal_of
from web.services import services


async def export(request: Request) -> Response:
    principal = await principal_of(request)
    name = request.path_params["name"]
    found = await services(request).exports.export(principal, name, request.query_params)
    return StreamingResponse(
        found.chunks,
        media_type=found.media_type,
        headers={
            # The name is the collection's ([a-z0-9_-]) and a date: nothing to quote.
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Cache-Control": "no-store",
        },
    )


async def import_csv(request: Request) -> Response:
    principal = await principal_of(request)
    name = request.path_params["name"]
    mode = request.query_params.get("mode") or "preview"
    if mode not in MODES:
        raise BadRequest(f"mode must be {' or '.join(MODES)}")
    imports = services(request).imports

    async def read() -> ImportRequest:
        return ImportRequest(
            data=await _file(request),
            mapping=parse_mapping(request.query_params.get("mapping")),
            on_error=request.query_params.get("on_error") or "skip",
        )

    if mode == "preview":
        return JSONResponse(await imports.preview(principal, name, read))
    progress = await imports.commit(principal, name, read)
    return StreamingResponse(_lines(progress), media_type="application/x-ndjson")


async def _file(request: Request) -> bytes:
    """The uploaded file, read as it arrives and never beyond `MAX_BYTES` (the body limit in front stops
    a longer one too: this holds wherever the route is mounted)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "text/csv":
        raise BadRequest("send the CSV file itself as the body, with Content-Type: text/csv")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise BadRequest(f"the file is larger than {MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _lines(progress: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for item in progress:
        yield (json.dumps(item, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
