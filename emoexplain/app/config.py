"""AppConfig: everything the app is configured by (environment variables, overridden by command-line flags)."""

from __future__ import annotations

import dataclasses
import os

from emoexplain.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class AppConfig:
    checkpoint: str | None = None      # local folder or hub id; None -> the demo checkpoint in assets/
    data_dir: str | None = None        # where emoexplain.db (and consented audio) live; None -> store default
    max_seconds: float = 30.0          # longer clips are analysed on their first max_seconds
    admin_token: str | None = None     # unlocks Review and checkpoint switching
    admin_users: tuple[str, ...] = ()  # HF usernames that are admins when logged in with OAuth on Spaces
    host: str = "127.0.0.1"
    port: int = 7860
    max_file_size: str = "20mb"        # uploads above this are refused by gradio
    examples_dir: str | None = None    # example clips (+ optional examples.json); None -> assets/examples
    preload: bool = True               # load the model in a background thread right after start
    sign_in: bool = False              # Hugging Face sign-in is on (OAUTH_CLIENT_ID): the signed-in name wins

    @classmethod
    def from_env(cls, env=None, **overrides) -> "AppConfig":
        env = os.environ if env is None else env
        users = [u.strip() for u in env.get("EMOEXPLAIN_ADMIN_USERS", "").split(",") if u.strip()]
        if env.get("SPACE_AUTHOR_NAME"):  # the Space's owner is always an admin
            users.append(env["SPACE_AUTHOR_NAME"])
        values = dict(
            checkpoint=env.get("EMOEXPLAIN_CHECKPOINT") or None,
            data_dir=env.get("EMOEXPLAIN_DATA_DIR") or None,
            max_seconds=float(env.get("EMOEXPLAIN_MAX_SECONDS", 30.0)),
            admin_token=env.get("EMOEXPLAIN_ADMIN_TOKEN") or None,
            admin_users=tuple(dict.fromkeys(users)),
            host=env.get("GRADIO_SERVER_NAME", "127.0.0.1"),
            port=int(env.get("GRADIO_SERVER_PORT", 7860)),
            max_file_size=env.get("EMOEXPLAIN_MAX_FILE_SIZE", "20mb"),
            examples_dir=env.get("EMOEXPLAIN_EXAMPLES_DIR") or None,
            sign_in=bool(env.get("OAUTH_CLIENT_ID")),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["max_seconds"] <= 0:
            raise ConfigError("EMOEXPLAIN_MAX_SECONDS must be positive.")
        return cls(**values)
