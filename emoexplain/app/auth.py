"""Who is an admin: the holder of the admin token, or a listed Hugging Face user logged in with OAuth."""

from __future__ import annotations

import hmac
import os

from emoexplain.app.config import AppConfig
from emoexplain.errors import AdminRequired

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_admin(config: AppConfig, token: str | None = None, username: str | None = None) -> bool:
    """True for a listed username, else for the right token (compared in constant time). With no token
    configured, only a private local server (not a Space, bound to localhost) is open to everyone."""
    if username and username in config.admin_users:
        return True
    if config.admin_token:
        return bool(token) and hmac.compare_digest(token.encode(), config.admin_token.encode())
    return not os.environ.get("SPACE_ID") and config.host in LOCAL_HOSTS


def require_admin(unlocked: bool, action: str = "Unlock the Review tab first.") -> None:
    """Refuse an admin action in a session that has not been unlocked."""
    if not unlocked:
        raise AdminRequired(action)
