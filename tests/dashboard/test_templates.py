"""Static checks of the dashboard templates that a browser would otherwise be the first to notice."""

from __future__ import annotations

import re
from pathlib import Path

from bot.dashboard.templating import TEMPLATES_DIR

IMPORT = re.compile(r'{%-?\s*import\s+"_macros\.html"\s+as\s+\w+(?P<rest>[^%]*)%}')


def _templates() -> list[Path]:
    return sorted(TEMPLATES_DIR.rglob("*.html"))


def test_macros_are_imported_with_the_page_context() -> None:
    """Without `with context`, ui.csrf_field() cannot see csrf_token and renders an empty one: every form
    of the page is then refused in a real browser (test clients add the token themselves)."""
    plain = [
        str(path.relative_to(TEMPLATES_DIR))
        for path in _templates()
        for match in IMPORT.finditer(path.read_text())
        if "with context" not in match.group("rest")
    ]
    assert plain == []


def test_no_template_marks_data_safe() -> None:
    """Auto-escaping is the XSS defence: `|safe` or autoescape off would let complaint text run."""
    offenders = [
        str(path.relative_to(TEMPLATES_DIR))
        for path in _templates()
        if re.search(r"\|\s*safe\b|autoescape\s+false", path.read_text())
    ]
    assert offenders == []


def test_every_post_form_carries_a_csrf_token() -> None:
    missing = []
    for path in _templates():
        text = path.read_text()
        for form in re.finditer(r"<form\b[^>]*method=\"post\"[^>]*>(?P<body>.*?)</form>", text, re.S | re.I):
            if "csrf_field()" not in form.group("body") and "csrf_token" not in form.group("body"):
                missing.append(f"{path.relative_to(TEMPLATES_DIR)}: {form.group(0)[:80]}")
    assert missing == []
