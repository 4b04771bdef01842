"""A forwarded HTTP request's relay header is bound to its method and path (collab/cluster/relay_auth.py)."""

from __future__ import annotations

import pytest

from auth.errors import Forbidden
from auth.principal import Principal, Role
from collab.cluster.relay_auth import http_target, relay_key, sign, verify

pytestmark = pytest.mark.unit

KEY = relay_key("a secret of the deployment")
ANN = Principal(
    user_id="u1", tenant_id="t1", tenant_slug="default", email="ann@example.com", name="Ann",
    role=Role.EDITOR, session_id="s1",
)  # fmt: skip


def test_a_forwarded_request_verifies_for_its_method_and_path_only() -> None:
    target = http_target("patch", "/api/records/r1?x=1")
    header = sign(KEY, ANN, target, 100.0)
    assert verify(KEY, header, "HTTP PATCH /api/records/r1?x=1", 101.0) == ANN
    for other in (
        http_target("DELETE", "/api/records/r1?x=1"),
        http_target("PATCH", "/api/records/r2?x=1"),
        http_target("PATCH", "/api/records/r1"),
        "r1",  # nor for a relayed socket of the record
    ):
        with pytest.raises(Forbidden):
            verify(KEY, header, other, 101.0)


def test_a_socket_header_never_passes_for_a_request() -> None:
    header = sign(KEY, ANN, "r1", 100.0)
    with pytest.raises(Forbidden):
        verify(KEY, header, http_target("PATCH", "/api/records/r1"), 100.0)
