"""Who is an admin, and how often anyone may try to become one (issue 10: the unlock took 179 guesses/s).

An admin is a listed Hugging Face user signed in with OAuth (recognised by name, never kept waiting), or the
holder of the admin token. With no token configured, only a private local server (not a Space, bound to
localhost) is open to everyone. Token guesses are limited twice: per client (``free_failures`` wrong tokens,
then a wait that doubles with every further one, up to ``max_wait_s``) and for everyone together (at most
``global_per_minute`` wrong tokens a minute, so rotating addresses does not multiply the guesses). While a
limit holds, tokens are not even compared. Failures are logged as one line (client and count, never the
token), without a traceback.

    gate = admin_gate(config)                          # one per process (Backend.admin_gate)
    gate.check(token, username=None, client="203.0.113.7")   # True / False, or raises TooManyAttempts
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from emoexplain.app.config import AppConfig
from emoexplain.errors import AdminRequired, TooManyAttempts

log = logging.getLogger(__name__)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def admin_gate(config: AppConfig) -> "AdminGate":
    """The gate for this configuration (the token, the admin users, whether a token-less server is open)."""
    return AdminGate(token=config.admin_token, users=config.admin_users,
                     open_without_token=not os.environ.get("SPACE_ID") and config.host in LOCAL_HOSTS)


def is_admin(config: AppConfig, token: str | None = None, username: str | None = None) -> bool:
    """One check without memory of earlier ones (the app asks its Backend's gate, which remembers failures)."""
    return admin_gate(config).check(token, username)


def require_admin(unlocked: bool, action: str = "Unlock the Review tab first.") -> None:
    """Refuse an admin action in a session that has not been unlocked."""
    if not unlocked:
        raise AdminRequired(action)


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


@dataclass
class AdminGate:
    token: str | None = None               # EMOEXPLAIN_ADMIN_TOKEN
    users: tuple[str, ...] = ()            # HF usernames that are admins when signed in
    open_without_token: bool = False       # no token configured and a private local server: everyone is admin
    free_failures: int = 5                 # wrong tokens per client before the waits begin
    first_wait_s: float = 1.0              # then 1, 2, 4, ... s
    max_wait_s: float = 300.0
    global_per_minute: int = 30            # wrong tokens a minute from all clients together
    clock: object = time.monotonic       # a function returning seconds (tests pass a fake clock)
    _clients: dict = field(default_factory=dict, repr=False)
    _recent: list = field(default_factory=list, repr=False)   # times of the last wrong tokens (all clients)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, token: str | None, username: str | None = None, client: str = "?") -> bool:
        """Whether this caller is an admin; raises TooManyAttempts instead of checking while a limit holds."""
        if username and username in self.users:
            return True
        if not self.token:
            return self.open_without_token
        if not token:
            return False
        with self._lock:
            now = self.clock()
            self._refuse_while_limited(client, now)
            if hmac.compare_digest(str(token).encode(), self.token.encode()):
                self._clients.pop(client, None)
                return True
            self._fail(client, now)
        return False

    def _refuse_while_limited(self, client: str, now: float) -> None:
        mine = self._clients.get(client)
        if mine is not None and mine.locked_until > now:
            raise TooManyAttempts(mine.locked_until - now)
        self._recent = [t for t in self._recent if t > now - 60.0]
        if len(self._recent) >= self.global_per_minute:
            raise TooManyAttempts(self._recent[0] + 60.0 - now)

    def _fail(self, client: str, now: float) -> None:
        mine = self._clients.setdefault(client, _Failures())
        mine.count += 1
        self._recent.append(now)
        over = mine.count - self.free_failures
        if over >= 0:
            mine.locked_until = now + min(self.max_wait_s, self.first_wait_s * 2 ** over)
        if len(self._clients) > 10_000:  # forget the oldest clients: memory stays bounded under a flood
            for stale in list(self._clients)[:1000]:
                del self._clients[stale]
        log.warning("admin unlock refused: wrong token from client %s (%d in a row)", client, mine.count)
