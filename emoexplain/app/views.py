"""What handlers return: plain frozen dataclasses (no gradio), turned into component values by emoexplain.app.edge.

A view's fields are the values of components, by name. Two markers say more than a value:

- ``Update(...)`` changes properties of a component (choices, label, visibility) besides or instead of its value;
- ``KEEP`` leaves a component as it is.

``View.info_toasts`` and ``View.warning_toasts`` become toasts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UNSET: Any = object()   # an Update field that was not given


@dataclass(frozen=True)
class Update:
    value: Any = UNSET
    choices: Any = UNSET
    label: Any = UNSET
    visible: Any = UNSET
    subtitles: Any = UNSET     # gr.Audio: [{"text", "timestamp": [start_s, end_s]}]
    active: Any = UNSET        # gr.Timer: ticking or not

    def given(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not UNSET}


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


@dataclass(frozen=True, kw_only=True)
class View:
    info_toasts: tuple[str, ...] = field(default=(), repr=False)      # gr.Info
    warning_toasts: tuple[str, ...] = field(default=(), repr=False)   # gr.Warning
