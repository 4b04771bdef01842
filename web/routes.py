"""Every URL of the server."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from web import (
    admin_routes,
    auth_routes,
    csv_routes,
    edit_routes,
    history_routes,
    record_routes,
    snapshot_routes,
    tenant_routes,
)
from web.conflict_routes import CONFLICT_ROUTES
from web.events_route import FEED_PATH, event_stream
from web.metrics_route import METRICS_PATH, metrics
from web.openapi import openapi
from web.people_routes import PEOPLE_ROUTES
from web.services import services
from web.trash_routes import TRASH_ROUTES

STATIC = Path(__file__).parent / "static"


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """200 when this server can serve (database answering, schema current), else 503: one word per check."""
    readiness = await services(request).health.readiness()
    body = {"status": "ready" if readiness.ready else "not ready", "checks": readiness.checks}
    return JSONResponse(
        body, status_code=200 if readiness.ready else 503, headers={"Cache-Control": "no-store"}
    )


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def service_worker(request: Request) -> Response:
    """The service worker that keeps the app shell (web/src/sw.js, built with the bundle). Served at the
    root so its scope is the whole app; no-cache, so a new build's worker is found at the next load."""
    return FileResponse(
        STATIC / "dist" / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


ROUTES: list[BaseRoute] = [
    Route("/", index),
    Route("/sw.js", service_worker),
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route(METRICS_PATH, metrics),
    Route("/api/openapi.json", openapi),
    Route("/api/tenants", tenant_routes.register, methods=["POST"]),
    Route("/api/tenants/registration", tenant_routes.registration),
    Route("/api/auth/login", auth_routes.login, methods=["POST"]),
    Route("/api/auth/logout", auth_routes.logout, methods=["POST"]),
    Route("/api/auth/me", auth_routes.me),
    Route("/api/auth/sessions", auth_routes.list_sessions),
    Route("/api/auth/sessions/revoke-others", auth_routes.revoke_other_sessions, methods=["POST"]),
    Route("/api/auth/sessions/{session_id}", auth_routes.revoke_session, methods=["DELETE"]),
    Route("/api/admin/users", admin_routes.list_users, methods=["GET"]),
    Route("/api/admin/users", admin_routes.create_user, methods=["POST"]),
    Route("/api/admin/users/{user_id}", admin_routes.update_user, methods=["PATCH"]),
    Route("/api/admin/users/{user_id}", admin_routes.delete_user, methods=["DELETE"]),
    Route("/api/admin/online", admin_routes.online),
    Route("/api/admin/users/{user_id}/password", admin_routes.reset_password, methods=["POST"]),
    Route("/api/admin/audit", admin_routes.audit_log),
    Route("/api/admin/lockouts", admin_routes.list_lockouts, methods=["GET"]),
    Route("/api/admin/lockouts", admin_routes.clear_lockout, methods=["DELETE"]),
    Route("/api/collections", record_routes.list_collections, methods=["GET"]),
    Route("/api/collections", record_routes.create_collection, methods=["POST"]),
    Route("/api/collections/{name}", record_routes.update_collection, methods=["PATCH"]),
    Route("/api/collections/{name}/export", csv_routes.export),
    Route("/api/collections/{name}/import", csv_routes.import_csv, methods=["POST"]),
    Route("/api/records", record_routes.list_records, methods=["GET"]),
    Route("/api/records", record_routes.create_record, methods=["POST"]),
    Route("/api/records/{record_id}", record_routes.get_record),
    Route("/api/records/{record_id}/presence", record_routes.presence),
    *edit_routes.EDIT_ROUTES,
    *snapshot_routes.SNAPSHOT_ROUTES,
    *CONFLICT_ROUTES,
    *TRASH_ROUTES,
    *PEOPLE_ROUTES,
    Route(FEED_PATH, event_stream),  # served by feed_app, past this router (server/app.py)
    Route("/api/records/{record_id}/history", history_routes.history),
    Route("/api/records/{record_id}/history/{change_id}/restore", history_routes.put_back, methods=["POST"]),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
