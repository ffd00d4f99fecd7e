"""The gradio edge: handlers' plain views in, component values out; library errors become gr.Error.

The only module of emoexplain.app that imports gradio (inside its functions, when the page is built). app.py
wires each event with :func:`event`:

    btn.click(**event(review.on_backup, backend, inputs={"unlocked": admin}, outputs={"status": status_md}),
              api_visibility="private")

``inputs`` name the handler's keyword arguments, ``outputs`` the view's fields; a list of components takes a
list (or tuple) value, one item each. ``Update`` fields become ``gr.update``, ``KEEP`` ``gr.skip()``, a
``Table`` a pandas DataFrame, and the view's toasts gr.Info / gr.Warning.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging

from emoexplain.app.views import KEEP, Update, View
from emoexplain.errors import EmoExplainError

log = logging.getLogger("emoexplain.app")


def plain(message) -> str:
    """Gradio renders toast messages (gr.Error/Warning/Info) as HTML: escape anything that may carry text
    from outside (file names in audio errors, typed checkpoint ids). Quotes stay readable for API users."""
    return html.escape(str(message), quote=False)


def user_errors(fn):
    """Show EmoExplainError messages to the user as gr.Error; log anything unexpected."""
    import gradio as gr

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except EmoExplainError as e:
            raise gr.Error(plain(e)) from e
        except Exception as e:
            raise gr.Error(_user_message(e, fn)) from e
    return wrapper


def _user_message(error: Exception, fn) -> str:
    """What a person reads about ``error``: its own words for ours, a short apology (and a log entry) otherwise."""
    if isinstance(error, EmoExplainError):
        return str(error)
    log.error("unexpected error in %s", getattr(fn, "__name__", fn), exc_info=error)
    return f"Something went wrong on our side ({type(error).__name__}); nothing was saved."


def error_markdown(message: str) -> str:
    """An error shown in words on the page (an HTML block, escaped: messages can name files or checkpoint ids)."""
    return f'<div class="inline-error" role="alert">⚠ {html.escape(str(message), quote=False)}</div>'


def _inline_error(outputs: dict, errors_to: str, message: str, on_error: dict) -> list:
    """Every output kept (gr.skip) except ``errors_to``, which shows the message, and those ``on_error`` sets."""
    import gradio as gr
    flat = []
    for name, spec in outputs.items():
        if isinstance(spec, dict):
            flat += [gr.skip()] * len(_flatten(spec.values()))
        elif isinstance(spec, (list, tuple)):
            flat += [gr.skip()] * len(spec)
        elif name == errors_to:
            flat.append(error_markdown(message))
        else:
            flat.append(value(on_error[name]) if name in on_error else gr.skip())
    return flat


def event(handler, backend=None, *, inputs: dict | None = None, outputs: dict | None = None,
          username: bool = False, client: bool = False, errors_to: str | None = None,
          on_error: dict | None = None, **constants) -> dict:
    """``fn``, ``inputs`` and ``outputs`` for a gradio listener calling ``handler(backend, **values)``.

    ``backend=None`` calls ``handler(**values)`` (a pure view function); ``username=True`` also passes the
    logged-in Hugging Face username (or None) as ``username``, ``client=True`` the caller's address as
    ``client``; ``constants`` are passed as they are.
    ``errors_to`` names the output (a Markdown beside the action) that shows an error in words, where it stays
    until the next action writes it again; the other outputs keep their values, except those ``on_error`` gives
    ({name: value}, e.g. a stale result hidden). Without ``errors_to`` an error is a toast.
    """
    inputs, outputs = dict(inputs or {}), dict(outputs or {})
    in_components = _flatten(inputs.values())
    out_components = _flatten(outputs.values())

    def call(values, specials):
        kwargs = {**constants, **_unflatten(inputs, values), **specials}
        try:
            view = handler(backend, **kwargs) if backend is not None else handler(**kwargs)
        except Exception as e:
            if errors_to is None:
                raise
            values = _inline_error(outputs, errors_to, _user_message(e, handler), on_error or {})
        else:
            _toast(view)
            values = _spread(view, outputs)
        return values[0] if len(values) == 1 else values   # gradio takes a lone output's value as it is

    run = _with_specials(call, username=username, client=client)
    run.__name__ = getattr(handler, "__name__", "handler")
    return {"fn": user_errors(run), "inputs": in_components, "outputs": out_components}


def _with_specials(call, *, username: bool, client: bool):
    """``run(*values)`` for gradio, calling ``call(values, {"username": ..., "client": ...})``. gradio injects
    the login (gr.OAuthProfile) and the request into leading parameters by their type hints."""
    import gradio as gr
    hints = {**({"profile": gr.OAuthProfile | None} if username else {}), **({"request": gr.Request} if client else {})}

    def run(*args):
        named, values = dict(zip(hints, args)), args[len(hints):]
        specials = {}
        if username:
            specials["username"] = named["profile"].username if named["profile"] is not None else None
        if client:
            specials["client"] = client_address(named["request"])
        return call(values, specials)
    run.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=hint) for name, hint in hints.items()]
        + [inspect.Parameter("values", inspect.Parameter.VAR_POSITIONAL)])
    run.__annotations__ = dict(hints)
    return run


def client_address(request) -> str:
    """Who is calling, for rate limits: the address the nearest proxy saw (the last X-Forwarded-For entry,
    which a client cannot forge; the first ones it can), else the socket's peer."""
    if request is None:
        return "?"
    forwarded = (request.headers.get("x-forwarded-for") or "").split(",")
    if forwarded[-1].strip():
        return forwarded[-1].strip()
    return getattr(getattr(request, "client", None), "host", None) or "?"


def with_login(fn):
    """An API function ``fn(..., username=None)`` as gradio serves it: ``username`` is not an API parameter but
    the signed-in Hugging Face user (None when nobody is signed in), so callers cannot choose it."""
    import gradio as gr
    signature = inspect.signature(fn)
    params = [p for name, p in signature.parameters.items() if name != "username"]
    profile = inspect.Parameter("profile", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.OAuthProfile | None)

    def api(profile, *args, **kwargs):
        return fn(*args, username=profile.username if profile is not None else None, **kwargs)
    api.__name__, api.__doc__ = fn.__name__, fn.__doc__
    api.__signature__ = signature.replace(parameters=[profile, *params])
    hints = {name: hint for name, hint in getattr(fn, "__annotations__", {}).items() if name != "username"}
    api.__annotations__ = {"profile": gr.OAuthProfile | None, **hints}
    return api


def analyze_endpoint(backend):
    """The public ``/analyze`` API function: the result JSON for the API, the Analysis for the page's state."""
    import gradio as gr

    from emoexplain.app.analyze import on_analyze

    def analyze(audio_path: str, progress=gr.Progress()):
        """Explain one speech clip: emotion + probabilities, transcript, caption, descriptors with measured
        evidence, acoustics; records the analysis and returns its JSON (with analysis_id)."""
        progress(0.05, desc="loading the model" if not backend.model.loaded else "measuring and explaining")
        analysis = on_analyze(backend, audio_path)
        _toast(analysis)
        return analysis.result, analysis
    return user_errors(analyze)


def value(item):
    """One view value as gradio takes it."""
    import gradio as gr

    from emoexplain.store.queries import Table
    if item is KEEP:
        return gr.skip()
    if isinstance(item, Update):
        return gr.update(**{k: value(v) for k, v in item.given().items()})
    if isinstance(item, Table):
        import pandas as pd
        return pd.DataFrame(item.rows, columns=list(item.columns))
    return item


def selected_row_value(column: int):
    """A gradio listener for a Dataframe's select: the picked row's value in ``column`` (gradio passes the pick
    by the SelectData type hint)."""
    import gradio as gr

    def pick(selected):
        row = getattr(selected, "row_value", None)
        return row[column] if row else None
    pick.__annotations__ = {"selected": gr.SelectData}   # a real class, not the string this module's annotations are
    return pick


def _toast(view) -> None:
    if not isinstance(view, View):
        return
    import gradio as gr
    for text in view.info_toasts:
        gr.Info(plain(text))
    for text in view.warning_toasts:
        gr.Warning(plain(text))


def _flatten(specs) -> list:
    out = []
    for spec in specs:
        if isinstance(spec, dict):
            out += _flatten(spec.values())
        else:
            out += spec if isinstance(spec, (list, tuple)) else [spec]
    return out


def _unflatten(inputs: dict, values) -> dict:
    """Gradio's flat list of input values -> {name: value, or a list for a list of components}."""
    kwargs, i = {}, 0
    for name, spec in inputs.items():
        if isinstance(spec, (list, tuple)):
            kwargs[name], i = list(values[i:i + len(spec)]), i + len(spec)
        else:
            kwargs[name], i = values[i], i + 1
    return kwargs


def _spread(view, outputs: dict) -> list:
    """The view's fields named in ``outputs``, in their order, one value per component. A field may be a
    nested view (e.g. UnlockView.review): name its components with a dict."""
    flat = []
    for name, spec in outputs.items():
        item = getattr(view, name)
        if item is KEEP and isinstance(spec, (dict, list, tuple)):
            flat += [value(KEEP)] * len(_flatten([spec]))
        elif isinstance(spec, dict):
            flat += _spread(item, spec)
        elif isinstance(spec, (list, tuple)):
            if len(item) != len(spec):
                raise ValueError(f"{type(view).__name__}.{name} has {len(item)} values for {len(spec)} components")
            flat += [value(v) for v in item]
        else:
            flat.append(value(item))
    return flat
