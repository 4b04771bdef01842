"""The relay header: how an owner node knows a relayed socket was authenticated by another node.

The edge node has checked the client (session, Origin, caps); it tells the owner who the client is in
`X-Collab-Relay: <payload>.<signature>`: the payload is the principal, the record and the time, as JSON in
base64url; the signature is HMAC-SHA256 of the payload under a key derived from the deployment's
`secret_key`. The owner accepts it only with a valid signature (compared in constant time), for the record
the socket asks for, and at most `MAX_AGE_SECONDS` old; anything else is `Forbidden` (4403). The header is
a credential: it is never logged.

An HTTP request forwarded to a record's owner (web/relay_http.py) carries the same header, signed for
`http_target(method, path)` instead of a record id: a signature for one request never passes for another
request, nor for a socket (a record id has no space in it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Final

from auth.errors import Forbidden
from auth.principal import Principal, Role

HEADER: Final = "x-collab-relay"
MAX_AGE_SECONDS: Final = 30.0
# A key of its own, derived from the secret key: a relay signature can never pass for anything else's.
_KEY_PURPOSE = b"collab relay header v1"


def relay_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


def sign(key: bytes, principal: Principal, record_id: str, now: float) -> str:
    body = {
        "user": principal.user_id,
        "tenant": principal.tenant_id,
        "slug": principal.tenant_slug,
        "email": principal.email,
        "name": principal.name,
        "role": principal.role.value,
        "session": principal.session_id,
        "record": record_id,
        "at": now,
    }
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_b64(_mac(key, payload))}"


def verify(key: bytes, header: str, record_id: str, now: float) -> Principal:
    """The principal the edge node authenticated; `Forbidden` unless signed by this deployment, for this
    record, and fresh."""
    payload, _, signature = header.partition(".")
    try:
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except ValueError:
        raise Forbidden("relay refused") from None
    if not hmac.compare_digest(given, _mac(key, payload)):
        raise Forbidden("relay refused")
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        at = float(body["at"])
        principal = Principal(
            user_id=str(body["user"]),
            tenant_id=str(body["tenant"]),
            tenant_slug=str(body["slug"]),
            email=str(body["email"]),
            name=str(body["name"]),
            role=Role(body["role"]),
            session_id=str(body["session"]),
        )
        signed_record = str(body["record"])
    except (ValueError, KeyError, TypeError):  # signed by us, so only a bug makes one unreadable
        raise Forbidden("relay refused") from None
    if signed_record != record_id or not now - MAX_AGE_SECONDS <= at <= now + MAX_AGE_SECONDS:
        raise Forbidden("relay refused")
    return principal


def http_target(method: str, path: str) -> str:
    """What a forwarded HTTP request's header is signed for: its method and path (with the query)."""
    return f"HTTP {method.upper()} {path}"


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
