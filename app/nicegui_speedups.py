"""A cache in front of NiceGUI's "does this handler take arguments?" question.

NiceGUI asks it (`helpers.expects_arguments`, via `inspect.signature`) for every props,
classes and style collection of every element it builds (nicegui/observables.py) and
for every event handler: about a fifth of the list page's server time went there. The
answer depends only on the function's code, how many positional defaults it has, which
keyword-only ones have defaults, and whether it is bound — so it is cached by exactly
that. Anything else (partials, callable objects, wrapped or annotated signatures) goes
to NiceGUI's own function, unchanged. tests/unit/test_nicegui_speedups.py checks the
cached answers against it.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Hashable
from typing import Any

from nicegui import helpers

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


def install() -> None:
    """NiceGUI's modules call it as `helpers.expects_arguments`: replace it there."""
    helpers.expects_arguments = expects_arguments
