"""axe-core in a Playwright page: the serious and critical violations of the page as shown.

axe.min.js comes from the `axe-playwright-python` wheel (PyPI), so a fresh clone gets it
from `make test` with no other download; we only borrow the file and call `axe.run`
ourselves, to choose the rules and the impact filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axe_playwright_python.base import AXE_FILE_PATH

BLOCKING = ("serious", "critical")
# WCAG 2.0/2.1 A and AA plus axe's best practices: what the audit ran.
OPTIONS = {"resultTypes": ["violations"],
           "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                 "best-practice"]}}


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: list[str]

    def __str__(self) -> str:
        shown = "\n      ".join(self.targets[:8])
        more = f"\n      … and {len(self.targets) - 8} more" if len(self.targets) > 8 else ""
        return f"{self.rule} ({self.impact}): {self.help}\n      {shown}{more}"


def axe_violations(page: Any, impacts: tuple[str, ...] = BLOCKING,
                   within: str | None = None) -> list[Violation]:
    """Run axe-core on the page as it is now (or on the element `within` selects);
    violations of the given impacts."""
    # Measure the settled screen: a colour still in transition (a theme switch, a tab's
    # ink) reads as a contrast failure that no user sees.
    page.wait_for_function("() => document.getAnimations()"
                           ".every(a => a.playState !== 'running' || a.effect?.getTiming()"
                           ".iterations === Infinity)", timeout=10_000)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_FILE_PATH))
    result = page.evaluate("([within, options]) => axe.run("
                           "within ? document.querySelector(within) : document, options)",
                           [within, OPTIONS])
    return [Violation(v["id"], v["impact"], v["help"],
                      [" ".join(map(str, n["target"])) + "  " + n["html"][:160] + "  "
                       + "; ".join(c["message"] for c in n.get("any", []) + n.get("all", []))
                       for n in v["nodes"]])
            for v in result["violations"] if v["impact"] in impacts]


def axe_version(page: Any) -> str:
    return str(page.evaluate("() => axe.version"))
