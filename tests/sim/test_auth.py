"""API keys over HTTP (§7, §12)."""

from __future__ import annotations

import base64

import httpx
import pytest

from .conftest import ALL_ERAS, HostFactory

KEY = "sk-test-key"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("era", ALL_ERAS)
async def test_missing_or_wrong_key_is_401_with_challenge(make_host: HostFactory,
                                                          era: str) -> None:
    """§7: 401, `WWW-Authenticate: Basic realm="llama-swap"`, `unauthorized: ...` body in the
    era's error shape (§0)."""
    host = await make_host(era, api_key=KEY)
    async with httpx.AsyncClient(base_url=host.url, verify=False) as client:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"x-api-key": "nope"}):
            response = await client.get("/running", headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == 'Basic realm="llama-swap"'
            assert "unauthorized: invalid or missing API key" in response.text
        json_body = await client.get("/running", headers={"Accept": "application/json"})
    assert json_body.json()["error"] == "unauthorized: invalid or missing API key"
    if era != "v200":
        assert json_body.json()["src"] == "llama-swap"


@pytest.mark.parametrize("era", ALL_ERAS)
async def test_accepted_key_sources(make_host: HostFactory, era: str) -> None:
    """§7: Basic with any user name (the password is the key), Bearer, x-api-key."""
    host = await make_host(era, api_key=KEY)
    async with httpx.AsyncClient(base_url=host.url, verify=False) as client:
        for headers in ({"Authorization": _basic("whoever", KEY)},
                        {"Authorization": f"Bearer {KEY}"}, {"x-api-key": KEY}):
            assert (await client.get("/running", headers=headers)).status_code == 200


@pytest.mark.parametrize(("era", "lowercase_ok"), [("v200", False), ("v250", True)])
async def test_scheme_case_sensitivity(make_host: HostFactory, era: str,
                                       lowercase_ok: bool) -> None:
    """§12: the gin era compares `Bearer`/`Basic` case-sensitively; net/http does not."""
    host = await make_host(era, api_key=KEY)
    async with httpx.AsyncClient(base_url=host.url, verify=False) as client:
        response = await client.get("/running", headers={"Authorization": f"bearer {KEY}"})
    assert response.status_code == (200 if lowercase_ok else 401)


@pytest.mark.parametrize("era", ALL_ERAS)
async def test_health_needs_no_key(make_host: HostFactory, era: str) -> None:
    """§7: /health is outside the auth middleware."""
    host = await make_host(era, api_key=KEY)
    async with httpx.AsyncClient(base_url=host.url, verify=False) as client:
        response = await client.get("/health")
    assert (response.status_code, response.text) == (200, "OK")


async def test_prometheus_metrics_need_the_key(make_host: HostFactory) -> None:
    """§1.8/§7: `/metrics` is behind apiKeys since v225."""
    host = await make_host("v230", api_key=KEY)
    async with httpx.AsyncClient(base_url=host.url, verify=False) as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"x-api-key": KEY})).status_code == 200
