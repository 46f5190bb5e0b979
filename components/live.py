"""Accessibility plumbing shared by every page: the polite live region, the skip link,
visible focus and reduced motion.

`announce(text)` is how a page tells a screen-reader user what just happened (saved,
moved, could not save): one `role=status` region per page, created by the shell before
anything is announced (regions added later are not reliably read). Toasts stay visual.
"""

from __future__ import annotations

import json
from typing import Any

from nicegui import ui

LIVE_REGION_ID = "hotcrm-live"
MAIN_ID = "main-content"

# Focus must always be visible (WCAG 2.4.7): Quasar hides outlines on its own widgets and
# shows only a faint hover tint, so every keyboard focus gets a clear ring. Form fields
# keep Quasar's own focused border (made a little stronger); their inner <input> needs no
# second ring. Reduced motion turns Quasar's transitions and animations off.
CSS = """
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
.skip-link { position: absolute; left: 8px; top: -48px; z-index: 9999; padding: 8px 14px;
  border-radius: 6px; background: #4338ca; color: #fff; font-weight: 500;
  text-decoration: none; }
.skip-link:focus { top: 8px; }
.q-field--focused .q-field__control { box-shadow: 0 0 0 1px #4f46e5; }
.body--dark .q-field--focused .q-field__control { box-shadow: 0 0 0 1px #a5b4fc; }
.body--dark .q-table__card.q-table--dark { background: transparent; }
/* A dialog's card is its own stacking context above the backdrop: no visual change, but
   axe-core otherwise measures text colours through the backdrop instead of the card. */
.q-dialog__inner > .q-card { position: relative; z-index: 1; }
/* NiceGUI loads Quasar's !important rules in a cascade layer, and an !important in a
   layer beats one outside any layer; the earliest layer ("theme") beats Quasar's. */
@layer theme {
  :focus-visible { outline: 2px solid #4f46e5 !important; outline-offset: 2px; }
  .body--dark :focus-visible { outline-color: #a5b4fc !important; }
  .q-field__native:focus-visible, .q-field__input:focus-visible,
  [tabindex="-1"]:not([role=menuitem]):focus-visible { outline: none !important; }
  /* Quiet grey buttons and primary-coloured text read well on white; on dark
     backgrounds they need a light twin to keep 4.5:1. */
  .body--dark .text-grey-7, .body--dark .text-grey-8 { color: #cbd5e1 !important; }
  .body--dark .text-primary,
  .body--dark .q-field--highlighted .q-field__label { color: #a5b4fc !important; }
  .body--dark .text-negative { color: #fca5a5 !important; }
}
@media (prefers-reduced-motion: reduce) {
  @layer theme {
    *, *::before, *::after { animation-duration: 0.01ms !important;
      animation-iteration-count: 1 !important; transition-duration: 0.01ms !important;
      scroll-behavior: auto !important; }
  }
}
"""


def install_page_basics() -> None:
    """The CSS above; call once per page (the shell and the login page do)."""
    ui.add_css(CSS)


def skip_link() -> None:
    """The first focusable element of a signed-in page: jumps past header and navigation."""
    ui.link("Skip to content", f"#{MAIN_ID}").classes("skip-link").props(
        'data-testid="skip-link"')


def live_region() -> ui.element:
    return ui.element("div").props(
        f'id="{LIVE_REGION_ID}" role="status" aria-live="polite" aria-atomic="true" '
        'data-testid="live-region"').classes("sr-only")


def announce(message: str) -> None:
    """Say `message` politely to screen readers (the same text twice is read twice)."""
    ui.run_javascript(
        f"(() => {{ const r = document.getElementById('{LIVE_REGION_ID}'); if (!r) return;"
        f" r.textContent = ''; setTimeout(() => {{ r.textContent = {json.dumps(message)}; }},"
        " 60); })()")


def notify(message: str, *, type: str = "info", **options: Any) -> None:
    """A toast for the eye plus the polite announcement for the ear. The toast is hidden
    from assistive technology so a message is not read twice (Quasar's toasts are
    `role=alert`, which interrupts)."""
    ui.notify(message, type=type, attrs={"aria-hidden": "true"}, **options)
    announce(message)
