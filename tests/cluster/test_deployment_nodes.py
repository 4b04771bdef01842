"""docker-compose.yml's deployment of several nodes, run natively (no Docker engine here): its app services'
settings with the hosts mapped to this machine, two `collab serve` processes, and Debian's HAProxy driven by
the very config file the compose file mounts."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import make_url

from tests.support.cluster import HAPROXY, HOST, free_port, node_variables, own_redis, running_cluster
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT, SECRETS_SEEN
from tests.support.nodes import POSTGRES_ONLY, REDIS_URL, cluster_env
from tests.support.yclient import YClient

HAPROXY_CONFIG_IN_IMAGE = "/usr/local/etc/haproxy/haproxy.cfg"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def app_nodes(services: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services `docker compose up` starts from collab's image (the single-node `app` has a profile)."""
    return {name: s for name, s in services.items() if s.get("build") == "." and not s.get("profiles")}


def balancer_of(services: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """The HAProxy service, and the file of this repository mounted as its config."""
    for service in services.values():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if target == HAPROXY_CONFIG_IN_IMAGE:
                return service, (ROOT / source).resolve()
    raise AssertionError("no service mounts a config at " + HAPROXY_CONFIG_IN_IMAGE)


def native_settings(
    nodes: dict[str, dict[str, Any]], balancer: dict[str, Any], database_url: str, secret_key: str
) -> Any:
    """Each node's compose settings, mapped to this machine once its port is chosen: the hosts `db`,
    `redis`, the other nodes and the balancer's fixed address become 127.0.0.1 (and the test's database,
    Redis and ports); `${COLLAB_SECRET_KEY}` (from .env) a fresh key; a Redis prefix of the test's own."""
    balancer_address = balancer["networks"]["default"]["ipv4_address"]
    prefix = f"collab-test-{secrets.token_hex(4)}"

    def settings(ports: list[int]) -> list[dict[str, str]]:
        port_of = dict(zip(nodes, ports, strict=True))
        mapped = []
        for name, service in nodes.items():
            env = {key: str(value) for key, value in service["environment"].items()}
            compose_db = make_url(env.pop("COLLAB_DATABASE_URL"))
            assert compose_db.drivername == "postgresql" and compose_db.host == "db"
            test_db = make_url(database_url)
            env["COLLAB_DATABASE_URL"] = compose_db.set(
                host=test_db.host, port=test_db.port, database=test_db.database, username=test_db.username
            ).render_as_string(hide_password=False)
            assert env.pop("COLLAB_REDIS_URL") == "redis://redis:6379/0"
            env["COLLAB_REDIS_URL"] = REDIS_URL
            assert env.pop("COLLAB_SECRET_KEY") == "${COLLAB_SECRET_KEY:-}"
            env["COLLAB_SECRET_KEY"] = secret_key
            assert env.pop("COLLAB_HOST") == "0.0.0.0"
            env["COLLAB_HOST"] = HOST
            compose_port = env.pop("COLLAB_PORT")
            assert env.pop("COLLAB_INTERNAL_URL") == f"http://{name}:{compose_port}"
            env["COLLAB_PORT"] = str(port_of[name])
            env["COLLAB_INTERNAL_URL"] = f"http://{HOST}:{port_of[name]}"
            assert env.pop("FORWARDED_ALLOW_IPS") == balancer_address
            env["FORWARDED_ALLOW_IPS"] = HOST
            env["COLLAB_REDIS_PREFIX"] = prefix
            mapped.append(env)
        return mapped

    return settings


@pytest.mark.unit
def test_the_compose_file_and_the_balancer_config_agree() -> None:
    services = compose()["services"]
    nodes = app_nodes(services)
    balancer, config = balancer_of(services)
    envs = [{key: str(value) for key, value in s["environment"].items()} for s in nodes.values()]
    own = {"COLLAB_NODE_ID", "COLLAB_INTERNAL_URL"}
    # The nodes differ only in their own name and address; everything else (secret key included) is shared.
    assert all(
        {k: v for k, v in env.items() if k not in own} == {k: v for k, v in envs[0].items() if k not in own}
        for env in envs
    )
    for name, env in zip(nodes, envs, strict=True):
        assert (
            env["COLLAB_NODE_ID"] == name
            and env["COLLAB_INTERNAL_URL"] == f"http://{name}:{env['COLLAB_PORT']}"
        )
        assert "/readyz" in " ".join(nodes[name]["healthcheck"]["test"])
        # Docker's SIGKILL comes after the drain and the final flush, not during them.
        assert float(nodes[name]["stop_grace_period"].rstrip("s")) > 3 * float(
            env["COLLAB_SHUTDOWN_DRAIN_SECONDS"]
        )
        # Only the balancer's address may set the client's address.
        assert env["FORWARDED_ALLOW_IPS"] == balancer["networks"]["default"]["ipv4_address"]
    text = config.read_text()
    assert "option httpchk GET /readyz" in text and "timeout tunnel" in text
    assert set(balancer["environment"]) == {"COLLAB_BALANCER_BIND", *node_variables(config)}
    if shutil.which(HAPROXY) is not None:  # HAProxy's own check of the file, with the compose settings
        checked = subprocess.run(
            [HAPROXY, "-c", "-f", str(config)], env={**os.environ, **balancer["environment"]},
            capture_output=True, text=True,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr


@POSTGRES_ONLY
@pytest.mark.server_process
async def test_the_compose_cluster_serves_through_its_balancer(database_url: str, tmp_path: Path) -> None:
    services = compose()["services"]
    nodes = app_nodes(services)
    assert len(nodes) == 2
    balancer, config = balancer_of(services)
    assert config == ROOT / "deploy" / "haproxy.cfg"
    # The balancer's server lines point at exactly the app services, on the port each listens on.
    addresses = [balancer["environment"][variable] for variable in node_variables(config)]
    assert addresses == [f"{name}:{s['environment']['COLLAB_PORT']}" for name, s in nodes.items()]
    published = balancer["ports"]
    assert published == ["127.0.0.1:8000:8000"] and balancer["environment"]["COLLAB_BALANCER_BIND"] == ":8000"
    assert not any("ports" in service for service in nodes.values())  # one URL: the balancer's

    settings = native_settings(nodes, balancer, database_url, secrets.token_hex(32))
    async with running_cluster(database_url, tmp_path, settings=settings, config=config) as cluster:
        await cluster.balancer.wait_states({"node1": "UP", "node2": "UP"})
        async with cluster.client() as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            login = await http.post(
                "/api/auth/login",
                json={"tenant": "default", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            )
            assert login.status_code == 200, login.text
        token = login.json()["token"]
        SECRETS_SEEN.add(token)
        async with cluster.client(token) as http:
            created = await http.post("/api/records", json={"collection": "customers", "fields": {}})
            assert created.status_code == 201, created.text
        record = created.json()["id"]
        writer = await YClient(f"{cluster.balancer.ws_url}/{record}", token).connect()
        writer.fields["name"] = "Through HAProxy"
        await writer.wait_saved()
        await writer.close()
        async with cluster.client(token) as http:
            stored = await http.get(f"/api/records/{record}")
        assert stored.json()["fields"]["name"] == "Through HAProxy"


@POSTGRES_ONLY
@pytest.mark.server_process
async def test_the_balancer_keeps_serving_while_redis_is_down(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    async with own_redis(port) as redis:
        env = cluster_env(redis_url=f"redis://{HOST}:{port}/0")
        async with running_cluster(database_url, tmp_path, env=env) as cluster:
            await cluster.balancer.wait_states({"node1": "UP", "node2": "UP"})
            token = await cluster.nodes[0].login()
            record = await cluster.nodes[0].create_record(token)
            redis.kill()
            await redis.wait()
            # Every node's /readyz says 503 now, yet every node serves: HAProxy's unchecked backups carry it.
            await cluster.balancer.wait_states({"node1": "DOWN", "node2": "DOWN"})
            async with cluster.client() as http:
                ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "unreachable"
            writer = await YClient(f"{cluster.balancer.ws_url}/{record}", token).connect()
            writer.fields["name"] = "While Redis is down"
            await writer.wait_saved()
            await writer.close()
            async with own_redis(port):  # Redis returns: the nodes are taken back in
                await cluster.balancer.wait_states({"node1": "UP", "node2": "UP"})
                async with cluster.client(token) as http:
                    stored = await http.get(f"/api/records/{record}")
                assert stored.json()["fields"]["name"] == "While Redis is down"
