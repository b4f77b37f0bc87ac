"""What the browser tests share: a page that may load nothing but the app under test (every
other request is refused and recorded, as are console errors), and screenshots that also
refresh docs/screenshots/ when FUNDRADAR_UPDATE_DOCS=1."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import REPO


def local_page(browser: Any, base: str, width: int, problems: list[str], **context: Any) -> Any:
    """A page `width` px wide (a phone's height below 600 px) on its own browser context."""
    ctx = browser.new_context(viewport={"width": width, "height": 844 if width < 600 else 900},
                              **context)  # fmt: skip
    page = ctx.new_page()

    def route(r):  # type: ignore[no-untyped-def]
        if r.request.url.startswith(base):
            r.continue_()
        else:  # nothing fetched from elsewhere
            problems.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page


def shot(page: Any, tmp_path: Path, name: str) -> None:
    """A full-page PNG (checked to be one); copied to docs/screenshots/ on request."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("FUNDRADAR_UPDATE_DOCS") == "1":
        (REPO / "docs" / "screenshots").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, REPO / "docs" / "screenshots" / name)


# Rendered sizes of the visible text, in CSS pixels. Chart text: the computed font size times
# the SVG's scale on screen (its drawn width over its viewBox width); with `page_text`, also
# every visible page element holding text of its own.
_TEXT_SIZES = """(pageText) => {
  const out = [];
  for (const svg of document.querySelectorAll('.charts svg')) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0) continue;  // the drawing for the other screen size
    const scale = box.width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll('text')) {
      if (!t.textContent.trim() || t.getBoundingClientRect().width === 0) continue;
      out.push(parseFloat(getComputedStyle(t).fontSize) * scale);
    }
  }
  if (pageText) {
    for (const el of document.querySelectorAll('main *')) {
      if (el.closest('svg') || !el.getClientRects().length) continue;
      const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      if (own) out.push(parseFloat(getComputedStyle(el).fontSize));
    }
  }
  return out;
}"""


def text_sizes(page: Any, *, page_text: bool = False) -> list[float]:
    """The rendered size of each visible chart label (and of the page's text if asked)."""
    return list(page.evaluate(_TEXT_SIZES, page_text))
