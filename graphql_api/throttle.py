"""Failed logins slowed down with growing delays, per (account, address) and per address.

No account is ever locked: failures are counted per *pair* (the username tried and
the client address) and per *address*. After ``FAILURES`` failures of one pair (or
``ADDRESS_FAILURES`` from one address, whatever the usernames), the next attempt is
refused until ``BASE_DELAY * 2 ** (failures - allowed)`` seconds (at most
``MAX_DELAY``) have passed since the last failure. A refused attempt checks no
password and counts as nothing. A success clears its own pair's count; the
address's count is forgotten ``FORGET_AFTER`` seconds after its last failure. So
someone else's failures, from another address, never slow down a user's correct
login, and a refusal looks the same whether the account exists or not.

Counts live in Django's cache (``CACHE``, default ``"default"``): a cache shared by
every worker process (Redis, Memcached) and with an atomic ``incr`` makes the limits
hold across processes and concurrent requests; the local-memory default holds them
per process. Each attempt reserves its count before the password is checked, so
concurrent guesses cannot slip past the limit together.

:class:`ThrottledModelBackend` (Django's ``ModelBackend`` behind the throttle) is
the authentication backend, so every login that passes ``request`` to
``authenticate()`` is throttled: the ``login`` mutation and the admin's login form.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import math
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.core.cache import BaseCache, caches
from django.core.exceptions import PermissionDenied
from django.utils.module_loading import import_string

from history_core.revert import storable

DEFAULTS: dict[str, Any] = {
    "FAILURES": 5,  # failures of one (account, address) pair before any delay
    "ADDRESS_FAILURES": 20,  # failures from one address, any accounts
    "BASE_DELAY": 1.0,  # seconds, doubled with each further failure
    "MAX_DELAY": 15 * 60.0,
    "FORGET_AFTER": 24 * 3600.0,  # seconds after its last failure a count is dropped
    "CACHE": "default",
    "CLIENT_ADDRESS": "graphql_api.throttle.client_address",
}
ATTRIBUTE = "login_throttled"  # on the request: the Throttled refusal, if any

# Time in seconds, as time.time(); tests replace it to move time without sleeping.
clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class Policy:
    """The throttle's numbers (``LOGIN_THROTTLE`` setting over :data:`DEFAULTS`)."""

    failures: int
    address_failures: int
    base_delay: float
    max_delay: float
    forget_after: float

    @classmethod
    def from_settings(cls) -> Policy:
        options = {**DEFAULTS, **getattr(settings, "LOGIN_THROTTLE", {})}
        return cls(
            failures=int(options["FAILURES"]),
            address_failures=int(options["ADDRESS_FAILURES"]),
            base_delay=float(options["BASE_DELAY"]),
            max_delay=float(options["MAX_DELAY"]),
            forget_after=float(options["FORGET_AFTER"]),
        )

    def delay(self, failures: int, allowed: int) -> float:
        """Seconds to wait after the last of ``failures`` (none below ``allowed``)."""
        if failures < allowed:
            return 0.0
        return min(self.base_delay * 2.0 ** min(failures - allowed, 64), self.max_delay)


class Throttled(Exception):
    """An attempt refused before its password was checked; retry after a while."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"Too many failed logins: try again in {retry_after} second"
            f"{'' if retry_after == 1 else 's'}."
        )


def client_address(request: Any) -> str:
    """The address failures are counted against: ``REMOTE_ADDR``, an IPv6 address
    by its /64 (one subscriber's usual share). Behind a reverse proxy, set
    ``LOGIN_THROTTLE["CLIENT_ADDRESS"]`` to a function that reads its header."""
    raw = str(request.META.get("REMOTE_ADDR") or "unknown")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:100]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _digest(*parts: str) -> str:
    text = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(text).hexdigest()[:40]


def account_key(username: str) -> str:
    """One name for every spelling of a username (case, Unicode forms)."""
    return unicodedata.normalize("NFKC", username).casefold()


@dataclass
class Attempt:
    """One login attempt that passed the throttle; :meth:`settle` records how it
    ended."""

    throttle: LoginThrottle
    pair: str
    address: str

    def settle(self, succeeded: bool) -> None:
        cache, forget = self.throttle.cache, self.throttle.policy.forget_after
        if succeeded:  # its pair starts again; the address keeps earlier failures
            cache.delete_many([self.pair, f"{self.pair}:at"])
            _decrement(cache, self.address)
            return
        now = self.throttle.clock()
        for key in (self.pair, self.address):
            cache.touch(key, forget)
            cache.set(f"{key}:at", now, forget)


def _decrement(cache: BaseCache, key: str) -> None:
    with contextlib.suppress(ValueError):  # forgotten meanwhile: nothing to give back
        cache.decr(key)


class LoginThrottle:
    """Counts failures in ``cache`` and refuses attempts that come too soon."""

    def __init__(
        self, cache: BaseCache, policy: Policy, clock: Callable[[], float]
    ) -> None:
        self.cache, self.policy, self.clock = cache, policy, clock

    def begin(self, username: str, address: str) -> Attempt:
        """Reserve an attempt for ``username`` from ``address``.

        The attempt counts as a failure until settled, so concurrent attempts see
        each other. Raises :class:`Throttled` (and counts nothing) when it comes
        too soon after the last failure of its pair or of its address.
        """
        pair = f"login-throttle:pair:{_digest(address, account_key(username))}"
        per_address = f"login-throttle:address:{_digest(address)}"
        now = self.clock()
        wait = max(
            self._wait(pair, self.policy.failures, now),
            self._wait(per_address, self.policy.address_failures, now),
        )
        if wait > 0:
            for key in (pair, per_address):
                _decrement(self.cache, key)
            raise Throttled(max(1, math.ceil(wait)))
        return Attempt(self, pair, per_address)

    def _wait(self, key: str, allowed: int, now: float) -> float:
        """Reserve one attempt on ``key``; the seconds it must still wait."""
        last = self.cache.get(f"{key}:at")
        if last is not None and now - float(last) >= self.policy.forget_after:
            self.cache.delete_many([key, f"{key}:at"])  # on our clock, not the cache's
            last = None
        self.cache.add(key, 0, self.policy.forget_after)
        try:
            earlier = self.cache.incr(key) - 1
        except ValueError:  # expired between add and incr
            self.cache.set(key, 1, self.policy.forget_after)
            earlier = 0
        delay = self.policy.delay(earlier, allowed)
        if delay == 0:
            return 0.0
        # Counted but not settled yet (attempts in flight): as if they just failed.
        since = now if last is None else float(last)
        return max(0.0, since + delay - now)


def current() -> LoginThrottle:
    """The throttle the settings describe, on its cache and :data:`clock`."""
    options = {**DEFAULTS, **getattr(settings, "LOGIN_THROTTLE", {})}
    return LoginThrottle(caches[options["CACHE"]], Policy.from_settings(), clock)


def address_of(request: Any) -> str:
    options = {**DEFAULTS, **getattr(settings, "LOGIN_THROTTLE", {})}
    return str(import_string(options["CLIENT_ADDRESS"])(request))


def usable(username: str, password: str) -> bool:
    """Whether these credentials could belong to an account: text the database can
    store, a username no longer than the username field allows."""
    field = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD)
    longest = getattr(field, "max_length", None) or 150
    return storable(username) and storable(password) and len(username) <= longest


class LoginThrottleMixin:
    """Put before an authentication backend to throttle its logins (see the module).

    A refused attempt raises ``PermissionDenied`` (Django then tries no other
    backend) and leaves the :class:`Throttled` refusal on ``request.login_throttled``.
    Credentials no account can have are refused after the same hashing work as a
    wrong password, without a query.
    """

    def authenticate(
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:  # no client, no address to count against (a script)
            return super().authenticate(  # type: ignore[misc]
                request, username=username, password=password, **kwargs
            )
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            attempt = current().begin(str(username), address_of(request))
        except Throttled as refusal:
            setattr(request, ATTRIBUTE, refusal)
            raise PermissionDenied(str(refusal)) from None
        user = None
        try:
            if usable(str(username), str(password)):
                user = super().authenticate(  # type: ignore[misc]
                    request, username=username, password=password, **kwargs
                )
            else:  # the time a wrong password takes, on text that can be hashed
                text = str(password).replace("\x00", "")
                make_password(text.encode("utf-8", "replace").decode())
        finally:
            attempt.settle(succeeded=user is not None)
        return user


class ThrottledModelBackend(LoginThrottleMixin, ModelBackend):
    """Django's ``ModelBackend`` (passwords, permissions) behind the login throttle."""
