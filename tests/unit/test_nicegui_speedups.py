"""The cached "does this handler take arguments?" answers NiceGUI's own function gives."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from nicegui import helpers

from app import nicegui_speedups
from app.nicegui_speedups import expects_arguments

original = nicegui_speedups._original


class Handler:
    def method(self, event: Any) -> None: ...
    def no_args(self) -> None: ...
    def optional(self, event: Any = None) -> None: ...
    def __call__(self, event: Any) -> None: ...
    @classmethod
    def klass(cls, event: Any) -> None: ...
    @staticmethod
    def static(event: Any) -> None: ...


def plain(event: Any) -> None: ...
def nothing() -> None: ...
def star(*args: Any, **kwargs: Any) -> None: ...
def keyword_only(*, event: Any) -> None: ...
def keyword_default(*, event: Any = 1) -> None: ...
async def coroutine(event: Any) -> None: ...


@functools.wraps(plain)
def wrapped(*args: Any) -> None: ...


def lambdas() -> list[Any]:
    """Lambdas made in a loop share one code object, with and without defaults."""
    made = []
    for path in ("a", "b"):
        made += [lambda e, p=path: (e, p), lambda p=path: p, lambda: None, lambda e: e]
    return made


CALLABLES = [plain, nothing, star, keyword_only, keyword_default, coroutine, wrapped,
             Handler().method, Handler().no_args, Handler().optional, Handler(),
             Handler.klass, Handler.static, Handler.method, functools.partial(plain),
             functools.partial(plain, 1), print, len, *lambdas()]


@pytest.mark.parametrize("func", CALLABLES, ids=[  # stable ids: xdist workers compare them
    f"{i}-{getattr(f, '__name__', type(f).__name__)}" for i, f in enumerate(CALLABLES)])
def test_the_cached_answer_is_nicegui_s_answer(func: Any) -> None:
    assert expects_arguments(func) is original(func)
    assert expects_arguments(func) is original(func)  # and again, from the cache


def test_one_code_object_with_other_defaults_is_not_confused() -> None:
    def make(with_default: bool) -> Any:
        if with_default:
            return lambda e=None: e
        return lambda e: e
    # Different code objects anyway; the same code with defaults added later:
    def f(e: Any) -> None: ...
    assert expects_arguments(f) is True
    f.__defaults__ = (None,)
    assert expects_arguments(f) is False
    assert expects_arguments(make(True)) is False and expects_arguments(make(False)) is True


def test_installed_where_nicegui_calls_it() -> None:
    nicegui_speedups.install()
    assert helpers.expects_arguments is expects_arguments


@pytest.mark.parametrize("text", [
    "", "plain", "a & b < c > d `e` $f", "&amp; already", "&&<<>>``$$", "ünïcødé ✓ &#96;",
    '{"1": {"tag": "div", "text": "</script><script>alert(`x${1}`)</script>"}}',
])
def test_the_html_escape_of_element_json_is_nicegui_s(text: str) -> None:
    from nicegui.client import HTML_ESCAPE_TABLE

    assert nicegui_speedups.escape_for_html(text) == text.translate(HTML_ESCAPE_TABLE)


def test_client_json_dumps_still_gives_the_same_json() -> None:
    from nicegui import client
    from nicegui import json as nicegui_json

    nicegui_speedups.install()
    value = {"a": [1, "x<y>&`$"], "b": None}
    assert client.json.dumps(value) == nicegui_json.dumps(value)
    assert client.json.loads(nicegui_json.dumps(value)) == value
    assert client.json.dumps(value).translate({ord("a"): "A"}) == \
        nicegui_json.dumps(value).translate({ord("a"): "A"})
