"""Passwords never printed: a URL's, the given secrets, and the DSN forms drivers echo
back. Light to import (re only), for every command that prints an error."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<at>@)")


def mask_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Scrub passwords from any text: URL-embedded ones and the given secrets."""
    text = _PASSWORD_IN_URL.sub(lambda m: f"{m['head']}***{m['at']}", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    # DSN forms drivers echo back, e.g. "password=hunter2".
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", text, flags=re.IGNORECASE)
