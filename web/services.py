"""What the routes need from the running server, built by the composition root and kept on `app.state`.

The routes reach storage and live rooms only through collab's application services (collab/services/):
they parse the request, call one use-case and render its answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from collab.services.collections import Collections
from collab.services.conflicts import Conflicts
from collab.services.connections import Connections
from collab.services.csv_import import Imports
from collab.services.export import Exports
from collab.services.health import Health
from collab.services.history import History
from collab.services.records import Records
from collab.services.sessions import Sessions
from collab.services.snapshots import Snapshots
from collab.services.streams import Streams
from collab.services.tenants import Tenants
from collab.services.trash import Trash
from collab.services.users import Users
from collab.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessions: Sessions
    users: Users
    collections: Collections
    records: Records
    history: History
    conflicts: Conflicts
    snapshots: Snapshots
    streams: Streams
    connections: Connections
    health: Health
    tenants: Tenants
    trash: Trash
    imports: Imports
    exports: Exports


def services(connection: HTTPConnection) -> Services:
    found: Services = connection.app.state.services
    return found
