"""A captured statement in the paramstyle of another driver.

The capture holds SQL as the capturing driver received it: `$1` for asyncpg, `%(name)s`
for psycopg, `?` for aiosqlite. Replay through another driver of the backend needs its
own style, and Core text() needs `:name`. So the text is parsed once into literal pieces
and parameter slots (outside quoted strings and identifiers), and rendered per target:
numeric_dollar (`$n`), format (`%s`, a literal `%` doubled), qmark (`?`) or text()
(`:pN`, a literal colon that text() would take for a parameter escaped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Tokens that matter: quoted strings and identifiers (copied as they are), and slots.
_PATTERNS = {
    "numeric_dollar": r"\$(\d+)",
    "qmark": r"\?",
    "format": r"%%|%s",
    "pyformat": r"%%|%\((\w+)\)s|%s",
    "named": r"(?<![:\w]):(\w+)",
    "numeric": r"(?<![:\w]):(\d+)",
}
_QUOTED = r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\""
_TEXT_COLON = re.compile(r"(?<![:\w\\]):(?=\w)")


class SqlStyleError(Exception):
    """The statement's paramstyle is not one we can translate."""


@dataclass(frozen=True)
class ParsedSql:
    pieces: tuple[str, ...]  # literal SQL; one more than slots
    slots: tuple[int | str, ...]  # a 0-based position or a name, per placeholder

    def values(self, params: Any) -> list[Any]:
        """The captured parameters in slot order."""
        if params is None:
            return []
        out = []
        for slot in self.slots:
            if isinstance(slot, str):
                if not isinstance(params, dict):
                    raise SqlStyleError("named placeholders with positional parameters")
                out.append(params[slot])
            else:
                out.append(params[slot] if not isinstance(params, dict) else
                           list(params.values())[slot])
        return out

    def render(self, style: str) -> str:
        """The text in `style`: numeric_dollar, format, qmark, or text (for text())."""
        parts = [self._literal(self.pieces[0], style)]
        for index, piece in enumerate(self.pieces[1:]):
            mark = _placeholder(style, index)
            if style == "text" and piece.startswith(":"):  # `$1::INTEGER`: text() would not
                mark = f"({mark})"                         # see `:p0` before `::` as a bind
            parts.append(mark)
            parts.append(self._literal(piece, style))
        return "".join(parts)

    @staticmethod
    def _literal(piece: str, style: str) -> str:
        if style in ("format", "pyformat"):
            return piece.replace("%", "%%")
        if style == "text":
            return _TEXT_COLON.sub(r"\\:", piece)
        return piece


def _placeholder(style: str, index: int) -> str:
    if style == "numeric_dollar":
        return f"${index + 1}"
    if style in ("format", "pyformat"):
        return "%s"
    if style == "qmark":
        return "?"
    if style == "text":
        return f":p{index}"
    raise SqlStyleError(f"cannot render paramstyle {style!r}")


def parse(sql: str, style: str) -> ParsedSql:
    """Split `sql`, written in paramstyle `style`, into literal pieces and slots."""
    if style not in _PATTERNS:
        raise SqlStyleError(f"paramstyle {style!r} is not one replay translates")
    token = re.compile(f"({_QUOTED})|{_PATTERNS[style]}")
    pieces: list[str] = []
    slots: list[int | str] = []
    current: list[str] = []
    position = 0
    last = 0
    for match in token.finditer(sql):
        current.append(sql[last:match.start()])
        last = match.end()
        text = match.group(0)
        if match.group(1) is not None:  # a quoted string or identifier: as it is, but
            # the driver's %-escaping runs through literals too
            current.append(text.replace("%%", "%") if style in ("format", "pyformat")
                           else text)
            continue
        if text == "%%":
            current.append("%")
            continue
        named = next((g for g in match.groups()[1:] if g is not None), None)
        if style == "numeric_dollar" or style == "numeric":
            assert named is not None
            slots.append(int(named) - 1)
        elif named is not None:
            slots.append(named)
        else:
            slots.append(position)
            position += 1
        pieces.append("".join(current))
        current = []
    current.append(sql[last:])
    pieces.append("".join(current))
    return ParsedSql(tuple(pieces), tuple(slots))


def text_params(values: list[Any]) -> dict[str, Any]:
    """The values of a statement rendered for text(), by their `:pN` names."""
    return {f"p{i}": v for i, v in enumerate(values)}


# Statements that read: they may run outside a transaction (--no-transaction) and leave
# the data as it was. Anything else (DML, DDL, SET, a procedure call, SELECT ... INTO) is
# a write. A SELECT that calls a function that writes is not seen: the word is checked.
_READS = frozenset({"select", "show", "explain", "values", "with", "table", "describe",
                    "desc", "pragma"})
# inside a read: a data-changing CTE, SELECT ... INTO, and FOR UPDATE (a lock) too
_WRITE_WORDS = re.compile(r"\b(insert|update|delete|merge|into)\b", re.IGNORECASE)
_STRIP = re.compile(_QUOTED + r"|--[^\n]*|/\*.*?\*/", re.DOTALL)
_FIRST_WORD = re.compile(r"\s*\(*\s*(\w+)")


def is_read_only(sql: str) -> bool:
    """Whether `sql` only reads (quoted strings and comments are not looked at).
    EXPLAIN ANALYZE runs its statement, so it is judged by what follows it."""
    bare = _STRIP.sub(" ", sql)
    first = _FIRST_WORD.match(bare)
    if first is None or first.group(1).lower() not in _READS:
        return False
    return _WRITE_WORDS.search(bare) is None
