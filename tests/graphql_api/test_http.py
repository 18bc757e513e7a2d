"""The endpoint as a frontend meets it: sessions, CSRF, CORS, GraphiQL and limits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.test import Client

from .conftest import GRAPHQL

ALLOWED_ORIGIN = "http://localhost:5173"


def _post(client: Client, query: str, **headers: Any) -> Any:
    return client.post(
        GRAPHQL,
        json.dumps({"query": query}),
        content_type="application/json",
        **headers,
    )


@pytest.mark.django_db
def test_login_me_logout_round_trip() -> None:
    get_user_model().objects.create_user("carol", password="pw-12345678")
    client = Client()
    assert _post(client, "{ me { username } }").json() == {"data": {"me": None}}
    bad = _post(
        client,
        'mutation { login(username: "carol", password: "wrong") { __typename '
        "... on OperationInfo { messages { code } } } }",
    ).json()
    assert bad["data"]["login"]["messages"] == [{"code": "INVALID_CREDENTIALS"}]
    good = _post(
        client,
        'mutation { login(username: "carol", password: "pw-12345678") { '
        "__typename ... on LoginSuccess { user { username } csrfToken } } }",
    )
    login = good.json()["data"]["login"]
    assert login["__typename"] == "LoginSuccess"
    assert login["user"] == {"username": "carol"}
    assert "sessionid" in good.cookies and "csrftoken" in good.cookies
    assert login["csrfToken"]  # the rotated token, for the next X-CSRFToken header
    assert _post(client, "{ me { username } }").json() == {
        "data": {"me": {"username": "carol"}}
    }
    assert _post(client, "mutation { logout }").json() == {"data": {"logout": True}}
    assert _post(client, "{ me { username } }").json() == {"data": {"me": None}}


@pytest.mark.django_db
def test_queries_need_no_csrf_token_but_mutations_do() -> None:
    client = Client(enforce_csrf_checks=True)
    query = _post(client, "{ me { username } }")
    assert query.status_code == 200
    assert query.json() == {"data": {"me": None}}

    refused = _post(client, "mutation { logout }")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/json"
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "CSRF_FAILED"
    assert "csrfToken" in error["message"] and "X-CSRFToken" in error["message"]

    token = client.get(GRAPHQL, {"query": "{ csrfToken }"}).json()["data"]["csrfToken"]
    accepted = _post(client, "mutation { logout }", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200
    assert accepted.json() == {"data": {"logout": False}}


@pytest.mark.django_db
def test_cors_preflight_and_credentials_for_listed_origins_only() -> None:
    client = Client()
    preflight = client.options(
        GRAPHQL,
        HTTP_ORIGIN=ALLOWED_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-csrftoken",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert preflight["Access-Control-Allow-Credentials"] == "true"
    assert "x-csrftoken" in preflight["Access-Control-Allow-Headers"]
    actual = _post(client, "{ me { username } }", HTTP_ORIGIN=ALLOWED_ORIGIN)
    assert actual["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert actual["Access-Control-Allow-Credentials"] == "true"

    stranger = client.options(
        GRAPHQL,
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert "Access-Control-Allow-Origin" not in stranger
    assert "Access-Control-Allow-Credentials" not in stranger


@pytest.mark.django_db
def test_graphiql_is_served_with_local_assets_and_csrf_cookie() -> None:
    response = Client().get(GRAPHQL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    html = response.content.decode()
    assert "csrftoken" in response.cookies
    assert "unpkg.com" not in html and "cdn" not in html.lower()
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert len(assets) == 8
    for asset in assets:
        assert finders.find(asset), f"missing static asset {asset}"


LIMITS = [
    (
        "depth",
        '{ productHistory(id: "1") { edges { node { '
        + "prevVersion { " * 12
        + "historyId"
        + " }" * 12
        + " } } } }",
        "exceeds maximum operation depth",
    ),
    (
        "aliases",
        "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(20)) + " }",
        "aliases",
    ),
    ("tokens", "{ me { " + " ".join(["id"] * 2100) + " } }", "token"),
]


@pytest.mark.parametrize(
    ("name", "query", "fragment"), LIMITS, ids=[n for n, *_ in LIMITS]
)
@pytest.mark.django_db
def test_limits_refuse_abusive_documents(name: str, query: str, fragment: str) -> None:
    result = _post(Client(), query).json()
    assert result["errors"], result
    assert fragment.lower() in result["errors"][0]["message"].lower()
    assert result.get("data") is None


@pytest.mark.django_db
def test_unknown_field_is_a_graphql_error() -> None:
    response = _post(Client(), '{ productHistory(id: "1") { nope } }')
    assert response.status_code == 200
    assert "Cannot query field 'nope'" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
def test_unexpected_errors_are_masked(monkeypatch: Any, viewer: Any) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("graphql_api.resolvers.pages.timeline", explode)
    result = viewer('{ productHistory(id: "1") { totalCount } }')
    assert result["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in json.dumps(result)


@pytest.mark.django_db
def test_graphiql_is_off_when_disabled(settings: Any) -> None:
    settings.GRAPHIQL_ENABLED = False
    response = Client().get(GRAPHQL, HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    api = Client().get(GRAPHQL, {"query": "{ me { username } }"})
    assert api.json() == {"data": {"me": None}}


# -- caching: nothing for a user lands in a shared cache ------------------------------

EXCHANGES = {
    "GET query": lambda c: c.get(GRAPHQL, {"query": "{ me { username } }"}),
    "POST query": lambda c: _post(c, "{ me { username } csrfToken }"),
    "POST mutation": lambda c: _post(c, "mutation { logout }"),
    "GraphQL error": lambda c: _post(c, '{ productHistory(id: "x") { totalCount } }'),
    "malformed body": lambda c: c.post(GRAPHQL, "{", content_type="application/json"),
    "wrong method": lambda c: c.put(GRAPHQL, "{}", content_type="application/json"),
    "mutation over GET": lambda c: c.get(GRAPHQL, {"query": "mutation { logout }"}),
    "GraphiQL": lambda c: c.get(GRAPHQL, HTTP_ACCEPT="text/html"),
}


def _cache_control(response: Any) -> set[str]:
    return {
        part.strip() for part in response.get("Cache-Control", "").split(",") if part
    }


@pytest.mark.django_db
@pytest.mark.parametrize("logged_in", [True, False], ids=["user", "anonymous"])
@pytest.mark.parametrize("exchange", list(EXCHANGES))
def test_every_graphql_answer_is_private(
    viewer: Any, logged_in: bool, exchange: str
) -> None:
    """Logged in: answers are the user's. Anonymous: each sets the visitor's own CSRF
    cookie, and csrfToken is in the body: private too."""
    client = viewer.client if logged_in else Client()
    response = EXCHANGES[exchange](client)
    assert "private" in _cache_control(response), (exchange, response.status_code)
    assert "public" not in _cache_control(response)


@pytest.mark.django_db
def test_a_login_answer_is_private(user: Any) -> None:
    response = _post(
        Client(),
        'mutation { login(username: "alice", password: "secret-pass-1") '
        "{ __typename } }",
    )
    assert response.json()["data"]["login"]["__typename"] == "LoginSuccess"
    assert "private" in _cache_control(response)


@pytest.mark.django_db
def test_the_history_page_is_private_for_a_user_only(viewer: Any) -> None:
    page = "/history/catalog.product/1/"
    assert "private" in _cache_control(viewer.client.get(page))
    anonymous = Client().get(page)  # the same shell for everyone, no cookie
    assert "Cache-Control" not in anonymous and not anonymous.cookies
