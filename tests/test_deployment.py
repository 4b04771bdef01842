"""docker-compose.yml cannot run here (no Docker engine), so its configuration is run natively instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import make_url

from tests.support.live_server import ROOT
from tests.support.server_process import ServerProcess

PACKAGES = ["server", "collab", "persistence", "auth", "web"]


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


async def test_the_compose_app_environment_serves_on_postgresql(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the compose file runs PostgreSQL; the SQLite run is the README's default")
    env = {key: str(value) for key, value in compose()["services"]["app"]["environment"].items()}
    compose_url = make_url(env["COLLAB_DATABASE_URL"])
    assert compose_url.drivername == "postgresql" and compose_url.host == "db"
    test_url = make_url(database_url)
    # Same URL form as the compose file (plain postgresql://, password and all); only the address differs.
    env["COLLAB_DATABASE_URL"] = compose_url.set(
        host=test_url.host, port=test_url.port, database=test_url.database, username=test_url.username
    ).render_as_string(hide_password=False)
    env["COLLAB_HOST"] = "127.0.0.1"  # the container binds 0.0.0.0; a test machine need not
    server = ServerProcess(database_url, tmp_path / "server.log", env=env)  # as the container runs it
    await server.start()
    try:
        async with server.client() as http:
            assert (await http.get("/healthz")).status_code == 200
        token = await server.login()
        assert await server.create_record(token, {"name": "From compose"})
    finally:
        await server.kill()


def test_the_dockerfile_installs_every_package_and_serves() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.MULTILINE))
    assert copied == set(PACKAGES)
    assert 'CMD ["collab", "serve"]' in dockerfile
    assert compose()["services"]["app"]["build"] == "."
