"""HTTP-level failures are GraphQL JSON with a 4xx status; CSRF guards mutations only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from graphql_api.http import csrf_failure
from graphql_api.jsonbody import MAX_JSON_DEPTH, nesting_exceeds

from .conftest import GRAPHQL

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def _post_raw(client: Client, body: str | bytes, **headers: Any) -> Any:
    return client.post(GRAPHQL, body, content_type="application/json", **headers)


def _post(client: Client, payload: dict[str, Any], **headers: Any) -> Any:
    return _post_raw(client, json.dumps(payload), **headers)


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check ``response`` is a GraphQL error response; return its error."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"errors"}, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["message"]
    return error  # type: ignore[no-any-return]


# -- malformed requests: 400 BAD_REQUEST, never a 500 or an HTML page -------------


@pytest.mark.parametrize("body", ["123", "null", '"x"', "true", "[]", "[{}]"])
def test_a_body_that_is_not_a_json_object_is_a_bad_request(body: str) -> None:
    error = _error(_post_raw(Client(), body), 400, "BAD_REQUEST")
    assert "JSON object" in error["message"]


@pytest.mark.parametrize("body", ["{", '{"query": }', "", "{'query': 1}", "1e99999x"])
def test_malformed_json_is_a_bad_request(body: str) -> None:
    _error(_post_raw(Client(), body), 400, "BAD_REQUEST")


def test_a_body_that_is_not_utf8_is_a_bad_request() -> None:
    _error(_post_raw(Client(), b'{"query": "\xff"}'), 400, "BAD_REQUEST")


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
def test_deeply_nested_json_is_refused_quickly(request: Any, who: str) -> None:
    client = request.getfixturevalue(who).client
    query = "{ me { username } }"
    responses = [
        _post_raw(client, DEEP),
        _post_raw(
            client, json.dumps({"query": query})[:-1] + f', "variables": {DEEP}}}'
        ),
        client.get(GRAPHQL, {"query": query, "variables": DEEP}),
        client.get(GRAPHQL, {"query": query, "extensions": '{"a": ' + DEEP + "}"}),
    ]
    for response in responses:
        error = _error(response, 400, "BAD_REQUEST")
        assert f"deeper than {MAX_JSON_DEPTH}" in error["message"]


def test_json_nested_up_to_the_limit_is_accepted(viewer: Any) -> None:
    levels = MAX_JSON_DEPTH - 2  # the body and variables are the first two
    nested = "[" * levels + "1" + "]" * levels
    body = '{"query": "{ me { username } }", "variables": {"x": ' + nested + "}}"
    response = _post_raw(viewer.client, body)
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"username": "viewer"}}}


def test_an_oversized_body_is_refused_before_it_is_read(settings: Any) -> None:
    settings.GRAPHQL_API = {"MAX_BODY_BYTES": 1000}
    big = {"query": "{ me { username } }", "variables": {"pad": "x" * 1000}}
    error = _error(_post(Client(), big), 413, "BAD_REQUEST")
    assert "1000 bytes" in error["message"]
    small = _post(Client(), {"query": "{ me { username } }"})
    assert small.json() == {"data": {"me": None}}


def test_an_unsupported_content_type_is_a_bad_request() -> None:
    response = Client().post(GRAPHQL, "{ me { id } }", content_type="text/plain")
    _error(response, 400, "BAD_REQUEST")


def test_a_missing_query_is_a_bad_request() -> None:
    _error(_post(Client(), {"variables": {}}), 400, "BAD_REQUEST")


# -- methods ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_not_allowed(method: str) -> None:
    response = getattr(Client(), method)(GRAPHQL, "{}", content_type="application/json")
    _error(response, 405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == "GET, POST"


def test_a_mutation_over_get_is_not_allowed() -> None:
    response = Client().get(GRAPHQL, {"query": "mutation { logout }"})
    error = _error(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in error["message"]


def test_graphiql_when_disabled_is_a_json_not_found(settings: Any) -> None:
    settings.GRAPHIQL_ENABLED = False
    response = Client().get(GRAPHQL, HTTP_ACCEPT="text/html")
    _error(response, 404, "NOT_FOUND")


# -- CSRF: queries need no token, mutations do ---------------------------------------

LOGIN = 'mutation { login(username: "dora", password: "pw-12345678") { __typename } }'


def _csrf_client() -> Client:
    get_user_model().objects.create_user("dora", password="pw-12345678")
    return Client(enforce_csrf_checks=True)


def _token(client: Client) -> str:
    response = client.get(GRAPHQL, {"query": "{ csrfToken }"})
    return response.json()["data"]["csrfToken"]  # type: ignore[no-any-return]


def test_a_post_query_needs_no_csrf_token_and_sets_the_cookie() -> None:
    client = Client(enforce_csrf_checks=True)
    response = _post(client, {"query": "{ me { username } }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}
    assert "csrftoken" in response.cookies


def test_login_without_a_csrf_token_is_refused_with_a_hint() -> None:
    client = _csrf_client()
    error = _error(_post(client, {"query": LOGIN}), 403, "CSRF_FAILED")
    assert "csrfToken" in error["message"] and "X-CSRFToken" in error["message"]
    assert "sessionid" not in client.cookies


def test_login_with_the_csrf_token_works() -> None:
    client = _csrf_client()
    token = _token(client)
    response = _post(client, {"query": LOGIN}, HTTP_X_CSRFTOKEN=token)
    assert response.json() == {"data": {"login": {"__typename": "LoginSuccess"}}}


def test_a_wrong_csrf_token_is_refused() -> None:
    client = _csrf_client()
    _token(client)
    response = _post(client, {"query": LOGIN}, HTTP_X_CSRFTOKEN="x" * 32)
    _error(response, 403, "CSRF_FAILED")


@pytest.mark.parametrize(
    ("operation_name", "status"),
    [("Me", 200), ("Out", 403), (None, 403), ("Unknown", 403)],
)
def test_the_operation_that_would_run_decides(
    operation_name: str | None, status: int
) -> None:
    document = "query Me { me { username } } mutation Out { logout }"
    payload = {"query": document, "operationName": operation_name}
    response = _post(Client(enforce_csrf_checks=True), payload)
    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    ("document", "status"),
    [
        ("# no mutation here\n{ me { username } }", 200),
        ('{ me { username } } # "mutation { logout }"', 200),
        ("#" + "x" * 30_000 + "\nmutation { logout }", 403),  # too big to cache
    ],
)
def test_only_a_mutation_operation_needs_the_token(document: str, status: int) -> None:
    response = _post(Client(enforce_csrf_checks=True), {"query": document})
    assert response.status_code == status, response.content


def test_a_document_that_does_not_parse_gets_the_schemas_error() -> None:
    response = _post(Client(enforce_csrf_checks=True), {"query": "mutation {"})
    assert response.status_code == 200
    assert "Syntax Error" in response.json()["errors"][0]["message"]


def test_the_csrf_failure_view_answers_json_on_the_api_only() -> None:
    assert settings.CSRF_FAILURE_VIEW == "graphql_api.http.csrf_failure"
    api = csrf_failure(RequestFactory().post(GRAPHQL), reason="CSRF token missing.")
    error = _error(api, 403, "CSRF_FAILED")
    assert "CSRF token missing." in error["message"]
    admin = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x"})
    assert admin.status_code == 403
    assert admin["Content-Type"].startswith("text/html")


# -- the nesting scan ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("[" * 101 + "]" * 101, True),
        ("[" * 100 + "]" * 100, False),
        ('{"a": "' + "[" * 500 + '"}', False),  # brackets in a string do not count
        ('["\\"' + "[" * 200 + '"]', False),  # nor after an escaped quote
        ("[]" * 10_000, False),
        ("[{" * 51, True),
        ('"unterminated' + "[" * 200, False),
    ],
)
def test_nesting_scan_counts_brackets_outside_strings(text: str, deep: bool) -> None:
    assert nesting_exceeds(text) is deep
