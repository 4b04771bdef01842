"""The OpenAPI document covers every API route and method, with its error statuses."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from web.openapi import DOCUMENT
from web.routes import ROUTES

pytestmark = pytest.mark.unit

UNDOCUMENTED = {"/", "/api/openapi.json"}


def test_every_api_route_is_documented() -> None:
    missing = []
    for route in ROUTES:
        if not isinstance(route, Route) or route.path in UNDOCUMENTED:
            continue
        for method in route.methods or ():
            if method == "HEAD":
                continue
            operation = DOCUMENT["paths"].get(route.path, {}).get(method.lower())
            if operation is None:
                missing.append(f"{method} {route.path}")
            elif operation.get("security") != [] and "401" not in operation["responses"]:
                missing.append(f"{method} {route.path}: no 401")
    assert not missing, missing


def test_every_documented_path_exists() -> None:
    paths = {route.path for route in ROUTES if isinstance(route, Route)}
    assert set(DOCUMENT["paths"]) - paths == set()
