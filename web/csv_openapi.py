"""The OpenAPI entries of CSV import and export (web/csv_routes.py), merged into web/openapi.py's document,
which adds the list parameters (sort, order, filters, q...) to the export."""

from __future__ import annotations

from typing import Any

from collab.services.csv_import import BATCH_ROWS, MAX_ERRORS, MAX_ROWS, SAMPLE_ROWS
from web.limits import UPLOAD_BYTES


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_ROW_ERROR = {
    "type": "object",
    "properties": {
        "row": {"type": "integer", "description": "1 for the first line after the header"},
        "field": {"type": "string", "description": "The field key"},
        "message": {"type": "string"},
    },
}
_COUNTS = {
    "headers": {"type": "array", "items": {"type": "string"}},
    "mapping": {"type": "object", "description": "CSV column → field key, as used"},
    "total_rows": {"type": "integer"},
    "valid_rows": {"type": "integer"},
    "invalid_rows": {"type": "integer"},
    "errors": {"type": "array", "items": _ROW_ERROR, "description": f"The first {MAX_ERRORS}"},
    "more_errors": {"type": "integer", "description": "How many errors the list leaves off"},
}

CSV_PATHS: dict[str, Any] = {
    "/api/collections/{name}/export": {
        "get": {
            "description": "The records of the current view (the list's sort and filters; `limit` and "
            "`cursor` do not apply: every matching record), streamed as a file to download. CSV: a first "
            "column `id`, then one column per field headed by its label; lists joined with `; `; a cell "
            "starting with =, +, -, @, tab or CR (other than a plain number) gets a `'` in front so that "
            "spreadsheets do not run it (the import removes it). JSON: an array of "
            "`{id, fields: {key: value}}` with values as stored (decimals as strings, lists as arrays). "
            "Readers may export.",
            "parameters": [
                _NAME,
                {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["csv", "json"]}},
                {
                    "name": "columns",
                    "in": "query",
                    "description": "Field keys, comma-separated, in order (default: every field not "
                    "archived)",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": {
                    "description": "The file (Content-Disposition: attachment; filename NAME-YYYY-MM-DD.csv)",
                    "content": {"text/csv": {}, "application/json": {}},
                },
                "400": _error("Bad parameters: the message names the one at fault"),
                "404": _error("No such collection"),
                "401": _error("Not authenticated"),
            },
        }
    },
    "/api/collections/{name}/import": {
        "post": {
            "description": f"Create records from a CSV file (editors): UTF-8 with or without a BOM, `,` or "
            f"`;` between cells, the first line naming the columns; at most {MAX_ROWS} data rows and "
            f"{UPLOAD_BYTES} bytes. Each row is checked as a create is. Cells: numbers, booleans "
            "(true/false/yes/no/1/0), dates YYYY-MM-DD, multiselect and link lists separated by `;`, "
            "decimals as text, a person by user id or email. `preview` answers what a commit would do; "
            f"`commit` streams NDJSON: `{{done, total}}` after each batch of {BATCH_ROWS} records, then "
            "`{created, skipped, refused, errors, ...}`. Records are attributed to the importer and "
            "announced as `record.created` events.",
            "parameters": [
                _NAME,
                {
                    "name": "mapping",
                    "in": "query",
                    "description": 'JSON {"CSV column": "field key"} (null: ignore the column); default: '
                    "columns matched to fields by label or key",
                    "schema": {"type": "string"},
                },
                {"name": "mode", "in": "query", "schema": {"type": "string", "enum": ["preview", "commit"]}},
                {
                    "name": "on_error",
                    "in": "query",
                    "description": "skip: create the valid rows; refuse: create nothing unless every "
                    "row is valid",
                    "schema": {"type": "string", "enum": ["skip", "refuse"]},
                },
            ],
            "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {
                "200": {
                    "description": "preview: the counts, errors and the first rows as they would be stored; "
                    "commit: NDJSON progress lines and the outcome",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    **_COUNTS,
                                    "sample": {
                                        "type": "array",
                                        "description": f"The first {SAMPLE_ROWS} valid rows",
                                    },
                                },
                            }
                        },
                        "application/x-ndjson": {},
                    },
                },
                "400": _error("Not a readable CSV, too many rows, or a mapping that does not fit"),
                "403": _error("Viewers may not import"),
                "404": _error("No such collection"),
                "413": _error("The file is too large"),
                "401": _error("Not authenticated"),
            },
        }
    },
}
