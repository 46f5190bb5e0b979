"""The precompiled Tailwind stylesheet (app/static/hotcrm-tailwind.css) holds every utility
class the pages ask for: NiceGUI's in-browser Tailwind compiler is off, so a class added
without `scripts/build_tailwind.sh` would silently have no style."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nicegui

from app.server import TAILWIND_CSS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*ROOT.glob("pages/**/*.py"), *ROOT.glob("components/**/*.py")]
CLASSES_CALL = re.compile(r'\.classes\(\s*((?:f?"[^"]*"\s*)+)')
# What a Tailwind utility looks like (variants, then one of the families the pages use).
UTILITY = re.compile(
    r"(?:(?:dark|hover|focus|focus-visible|sm|md|lg|xl|2xl|group-hover):)*-?"
    r"(?:(?:bg|text|ring|border|rounded|p[xytrbl]?|m[xytrbl]?|gap|w|h|min-w|max-w|min-h|"
    r"max-h|font|leading|tracking|grid-cols|col-span|items|justify|shrink|grow|opacity|"
    r"shadow|z|top|left|right|bottom|inset|space-[xy]|divide|outline|line-clamp|"
    r"whitespace|overflow|break)-[a-z0-9./\[\]#%-]+|flex|grid|block|inline-flex|hidden|"
    r"truncate|underline|italic|uppercase|shrink-0|grow)")
# Classes that only mark an element for tests and scripts; they carry no style.
MARKERS = {"record-count", "hotcrm-grid", "dash-filters"}


def _css_identifier(token: str) -> str:
    """`token` as Tailwind writes it in a selector (CSS escapes)."""
    escaped = re.sub(r"([:\[\]#/.%(),!@&>+~=*'\"])", r"\\\1", token)
    if escaped[:1].isdigit():  # an identifier cannot start with a digit: `\32 xl\:...`
        escaped = f"\\{ord(escaped[0]):x} {escaped[1:]}"
    return "." + escaped


def _requested_classes() -> dict[str, Path]:
    """Every token of a `.classes("...")` literal, and every Tailwind-looking token of any
    other string (class constants, chip colours, the grid's Vue slot)."""
    found: dict[str, Path] = {}
    for source in SOURCES:
        text = source.read_text()
        for call in CLASSES_CALL.finditer(text):
            for literal in re.findall(r'"([^"]*)"', call.group(1)):
                for token in literal.split():
                    if "{" not in token and "}" not in token:
                        found.setdefault(token, source)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for token in re.split(r"[\s'\"]+", node.value):
                    if UTILITY.fullmatch(token):
                        found.setdefault(token, source)
    return found


def _other_stylesheets() -> str:
    """Quasar's classes, NiceGUI's, and the ones our components define themselves."""
    static = Path(nicegui.__file__).parent / "static"
    parts = [p.read_text() for p in static.glob("*.css")]
    parts += [p.read_text() for p in ROOT.glob("components/**/*.css")]
    parts += [p.read_text() for p in SOURCES]  # CSS strings beside the components
    return "\n".join(parts)


def test_every_class_the_pages_use_has_a_style() -> None:
    tailwind = TAILWIND_CSS.read_text()
    others = _other_stylesheets()
    requested = _requested_classes()
    assert len(requested) > 100, "the scan found the pages' classes"
    missing = {token: str(path.relative_to(ROOT)) for token, path in requested.items()
               if token not in MARKERS and _css_identifier(token) not in tailwind
               and f".{token}" not in others}
    assert not missing, f"run scripts/build_tailwind.sh; unstyled classes: {missing}"


def test_the_stylesheet_keeps_dark_mode_and_the_layer_order() -> None:
    css = TAILWIND_CSS.read_text()
    # dark: variants follow NiceGUI's body class, not the OS setting
    assert ".dark\\:text-slate-300:where(body.body--dark,body.body--dark *)" in css
    # Tailwind's layers, which NiceGUI's page orders below its own overrides
    for layer in ("@layer theme{", "@layer base{", "@layer utilities{"):
        assert layer in css
