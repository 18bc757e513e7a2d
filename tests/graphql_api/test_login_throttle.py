"""Login throttling as an attacker meets it, over HTTP: growing delays per (account,
address) and per address, never a lock-out of the account itself.

Time is moved by hand (``graphql_api.throttle.clock``): nothing sleeps.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from graphql_api import throttle

pytestmark = pytest.mark.django_db

LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) {
    __typename ... on OperationInfo { messages { code message } }
  }
}
"""
PASSWORD = "pw-12345678"
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


@dataclass
class Clock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(throttle, "clock", frozen)
    return frozen


@pytest.fixture
def alice(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", password=PASSWORD)


def login(username: str, password: str, address: str = ATTACKER) -> tuple[str, Any]:
    """``(code, retry_after)``: ``OK``, ``INVALID_CREDENTIALS`` or ``THROTTLED``."""
    response = Client(REMOTE_ADDR=address).post(
        "/graphql/",
        json.dumps({"query": LOGIN, "variables": {"u": username, "p": password}}),
        content_type="application/json",
    )
    assert response.status_code == 200
    answer = response.json()["data"]["login"]
    if answer["__typename"] == "LoginSuccess":
        return "OK", None
    code = answer["messages"][0]["code"]
    retry = response.headers.get("Retry-After")
    if code == "THROTTLED":
        seconds = int(retry)
        assert f"try again in {seconds} second" in answer["messages"][0]["message"]
        return code, seconds
    assert retry is None
    return code, None


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(
    alice: Any, clock: Clock
) -> None:
    answers = [login("alice", f"guess-{i}") for i in range(50)]
    assert answers[:5] == [("INVALID_CREDENTIALS", None)] * 5
    assert answers[5][0] == "THROTTLED"  # the attacker's own pair waits now
    assert login("alice", PASSWORD, OWNER) == ("OK", None)
    assert login("alice", PASSWORD, "2001:db8::1") == ("OK", None)


def test_the_delay_doubles_with_each_failure_up_to_the_cap(
    alice: Any, clock: Clock, settings: Any
) -> None:
    settings.LOGIN_THROTTLE = {"FAILURES": 3, "BASE_DELAY": 2, "MAX_DELAY": 60}
    for _ in range(3):
        assert login("alice", "wrong")[0] == "INVALID_CREDENTIALS"
    waits = []
    for _ in range(8):
        code, wait = login("alice", "wrong")
        assert code == "THROTTLED"
        waits.append(wait)
        clock.tick(wait - 0.5)
        assert login("alice", PASSWORD) == ("THROTTLED", 1)  # not even the password
        clock.tick(0.5)
        assert login("alice", "wrong")[0] == "INVALID_CREDENTIALS"  # allowed again
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]


def test_a_refusal_is_the_same_whether_the_account_exists(
    alice: Any, clock: Clock
) -> None:
    real = [login("alice", f"guess-{i}") for i in range(8)]
    other = [login("nobody-here", f"guess-{i}", "203.0.113.67") for i in range(8)]
    assert real == other
    assert real[-1][0] == "THROTTLED"


def test_one_address_trying_many_accounts_is_slowed_alone(
    alice: Any, clock: Clock
) -> None:
    answers = [login(f"user-{i}", "guess") for i in range(21)]
    assert {a for a, _ in answers[:20]} == {"INVALID_CREDENTIALS"}
    assert answers[20][0] == "THROTTLED"
    assert login("someone-else", "guess", OWNER)[0] == "INVALID_CREDENTIALS"
    assert login("alice", PASSWORD, OWNER) == ("OK", None)


def test_a_success_clears_only_its_own_pair(alice: Any, clock: Clock) -> None:
    for _ in range(4):
        login("alice", "wrong")
    assert login("alice", PASSWORD) == ("OK", None)
    for _ in range(5):  # five failures allowed again
        assert login("alice", "wrong")[0] == "INVALID_CREDENTIALS"
    assert login("alice", "wrong")[0] == "THROTTLED"


def test_spellings_of_one_username_share_a_count(alice: Any, clock: Clock) -> None:
    for name in ("alice", "ALICE", "Alice", "ａｌｉｃｅ", "alicE"):  # noqa: RUF001
        assert login(name, "wrong")[0] == "INVALID_CREDENTIALS"
    assert login("alice", PASSWORD)[0] == "THROTTLED"


def test_an_ipv6_subscriber_counts_as_one_address(alice: Any, clock: Clock) -> None:
    for i in range(5):
        login("alice", "wrong", f"2001:db8:1:2::{i + 1}")
    assert login("alice", PASSWORD, "2001:db8:1:2:ffff::9")[0] == "THROTTLED"
    assert login("alice", PASSWORD, "2001:db8:1:3::1") == ("OK", None)


def test_failures_are_forgotten(alice: Any, clock: Clock) -> None:
    for _ in range(5):
        login("alice", "wrong")
    assert login("alice", PASSWORD)[0] == "THROTTLED"
    clock.tick(throttle.DEFAULTS["FORGET_AFTER"])  # a day after the last failure
    for _ in range(5):  # counted from zero again
        assert login("alice", "wrong")[0] == "INVALID_CREDENTIALS"
    assert login("alice", PASSWORD)[0] == "THROTTLED"


STORABLE_OR_NOT = [
    ("alice\x00", PASSWORD),
    ("alice", PASSWORD + "\x00"),
    ("ali\ud800ce", PASSWORD),
    ("alice", "pw-\udfff"),
    ("a" * 151, PASSWORD),
    ("\x00", "\x00"),
]


@pytest.mark.parametrize(("username", "password"), STORABLE_OR_NOT)
def test_credentials_no_account_can_have_are_invalid_and_counted(
    alice: Any, clock: Clock, username: str, password: str
) -> None:
    for _ in range(5):
        assert login(username, password) == ("INVALID_CREDENTIALS", None)
    assert login(username, password)[0] == "THROTTLED"


def test_the_admin_login_is_throttled_the_same_way(alice: Any, clock: Clock) -> None:
    alice.is_staff = True
    alice.save()

    def admin_login(password: str, address: str) -> bool:
        client = Client(REMOTE_ADDR=address)
        client.post(
            "/admin/login/?next=/admin/",
            {"username": "alice", "password": password},
        )
        return "_auth_user_id" in client.session

    for _ in range(5):
        assert not admin_login("wrong", ATTACKER)
    assert not admin_login(PASSWORD, ATTACKER)  # refused before the password
    assert admin_login(PASSWORD, OWNER)


def test_concurrent_guesses_cannot_slip_past_the_limit(clock: Clock) -> None:
    """Each attempt reserves its count before the password is checked."""
    guard = throttle.current()
    for _ in range(3):
        guard.begin("alice", ATTACKER).settle(succeeded=False)
    start = threading.Barrier(20)
    passed: list[throttle.Attempt] = []

    def guess() -> None:
        start.wait()
        with contextlib.suppress(throttle.Throttled):
            passed.append(guard.begin("alice", ATTACKER))

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(passed) == 2  # the limit is 5: 3 failed, 2 in flight, the rest refused


@pytest.mark.django_db
def test_the_setup_is_checked(settings: Any) -> None:
    from graphql_api.checks import check_login_throttle

    assert check_login_throttle() == []
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert [w.id for w in check_login_throttle()] == ["graphql_api.W001"]
    # A warning, not an error. Django 6 runs database checks on every alias unless
    # told which: only the default one here.
    call_command("check", databases=["default"])


# -- the rule, against a plain model of it ------------------------------------------


@dataclass
class Model:
    """The README's rule in a few lines: counts and last-failure times."""

    failures: int
    address_failures: int
    base: float
    cap: float
    counts: dict[tuple[str, ...], tuple[int, float]] = field(default_factory=dict)

    def wait(self, key: tuple[str, ...], allowed: int, now: float) -> float:
        count, last = self.counts.get(key, (0, now))
        if count < allowed:
            return 0.0
        return max(0.0, last + min(self.base * 2 ** (count - allowed), self.cap) - now)

    def attempt(self, user: str, address: str, correct: bool, now: float) -> Any:
        pair, own = (address, user.casefold()), (address,)
        wait = max(
            self.wait(pair, self.failures, now),
            self.wait(own, self.address_failures, now),
        )
        if wait > 0:
            return "THROTTLED", math.ceil(wait)
        if correct and user == "alice":  # the account's own spelling only
            self.counts.pop(pair, None)
            return "OK", None
        for key in (pair, own):
            self.counts[key] = (self.counts.get(key, (0, now))[0] + 1, now)
        return "INVALID_CREDENTIALS", None


POLICY = {"FAILURES": 2, "ADDRESS_FAILURES": 4, "BASE_DELAY": 1, "MAX_DELAY": 8}
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["alice", "ALICE", "mallory"]),
        st.sampled_from([ATTACKER, OWNER]),
        st.booleans(),
        st.sampled_from([0, 0, 0.5, 1, 2, 5, 9]),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=30, deadline=None)
@given(steps=STEPS)
def test_every_answer_follows_the_rule(
    steps: list[tuple[str, str, bool, float]],
) -> None:
    clock = Clock()
    model = Model(2, 4, 1.0, 8.0)
    with (
        override_settings(LOGIN_THROTTLE=POLICY),
        transaction.atomic(),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(throttle, "clock", clock)
        cache.clear()
        get_user_model().objects.create_user("alice", password=PASSWORD)
        for user, address, correct, wait in steps:
            clock.tick(wait)
            expected = model.attempt(user, address, correct, clock.now)
            password = PASSWORD if correct else "wrong"
            assert login(user, password, address) == expected, (user, address)
        transaction.set_rollback(True)
