"""Two hot spots of NiceGUI's page building, made cheap without changing any answer.

1. A cache in front of NiceGUI's "does this handler take arguments?" question.

NiceGUI asks it (`helpers.expects_arguments`, via `inspect.signature`) for every props,
classes and style collection of every element it builds (nicegui/observables.py) and
for every event handler: about a fifth of the list page's server time went there. The
answer depends only on the function's code, how many positional defaults it has, which
keyword-only ones have defaults, and whether it is bound — so it is cached by exactly
that. Anything else (partials, callable objects, wrapped or annotated signatures) goes
to NiceGUI's own function, unchanged. tests/unit/test_nicegui_speedups.py checks the
cached answers against it.

2. The escape of a page's element JSON for its HTML: `Client.build_response` does it with
`str.translate` and a dict table — one Python lookup per character, 6 ms of CPU (18 ms
on a busy machine) for a list page's 60 KB. The same five replacements as `str.replace`
calls take a tenth of that. `json.dumps` as `client.py` sees it returns a `str` whose
`translate` does that for exactly NiceGUI's table (any other table: `str.translate`).
tests/unit/test_nicegui_speedups.py compares the two escapes.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from nicegui import client, helpers
from nicegui import json as nicegui_json

_original: Callable[[Callable[..., Any]], bool] = helpers.expects_arguments
_answers: dict[Hashable, bool] = {}
_LIMIT = 8192  # code objects of a running app are few; a bound keeps a leak impossible


def _key(func: Any) -> Hashable | None:
    bound = isinstance(func, types.MethodType)
    target = func.__func__ if bound else func
    if type(target) is not types.FunctionType:
        return None
    if hasattr(target, "__wrapped__") or hasattr(target, "__signature__"):
        return None  # inspect.signature follows these: not the code's own parameters
    return (target.__code__, len(target.__defaults__ or ()),
            frozenset(target.__kwdefaults__ or ()), bound)


def expects_arguments(func: Callable[..., Any]) -> bool:
    key = _key(func)
    if key is None:
        return _original(func)
    answer = _answers.get(key)
    if answer is None:
        answer = _original(func)
        if len(_answers) >= _LIMIT:
            _answers.clear()
        _answers[key] = answer
    return answer


# "&" first: the other entities contain one, and must not be escaped again.
_HTML_ESCAPES = sorted(((chr(code), entity) for code, entity in client.HTML_ESCAPE_TABLE.items()),
                       key=lambda pair: pair[0] != "&")


class _ElementJson(str):
    """JSON text whose HTML escape (`translate` with NiceGUI's table) is str.replace."""

    __slots__ = ()

    def translate(self, table: Mapping[int, Any]) -> str:  # type: ignore[override]
        if table is not client.HTML_ESCAPE_TABLE:
            return str.translate(self, table)
        text = str(self)
        for char, entity in _HTML_ESCAPES:
            text = text.replace(char, entity)
        return text


class _ClientJson(types.SimpleNamespace):
    """`nicegui.json` as client.py uses it (`dumps`, `loads`), `dumps` giving _ElementJson."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return _ElementJson(nicegui_json.dumps(obj, **kwargs))

    loads = staticmethod(nicegui_json.loads)


def escape_for_html(text: str) -> str:
    """What build_response puts into the page for `text` (the fast path)."""
    return _ElementJson(text).translate(client.HTML_ESCAPE_TABLE)


def install() -> None:
    """NiceGUI's modules call it as `helpers.expects_arguments`: replace it there; and
    client.py's `json` with one whose `dumps` escapes fast."""
    helpers.expects_arguments = expects_arguments
    client.json = _ClientJson()  # type: ignore[assignment]
