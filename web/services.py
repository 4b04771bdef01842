"""What the routes need from the running server, built by the composition root and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from auth.sessions import SessionPolicy
from auth.throttle import LoginThrottle
from collab.changefeed.feed import Feed
from collab.live.registry import RoomRegistry
from collab.settings import Settings
from collab.store.writer import UpdateWriter
from persistence.database import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    database: Database
    registry: RoomRegistry
    writer: UpdateWriter
    throttle: LoginThrottle
    session_policy: SessionPolicy
    feed: Feed


def services(connection: HTTPConnection) -> Services:
    found: Services = connection.app.state.services
    return found
