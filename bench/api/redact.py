"""Redaction: parameter values replaced by stable stand-ins of the same type and length.

An HMAC of the value (with a key that is never written: random per capture unless the
caller passes one, so a stand-in cannot be reversed by hashing guesses) chooses the
stand-in: a string of the same length, an int with as many digits and the same sign, a
float of the same magnitude, bytes of the same length, a date or time in the same year.
The same value always gets the same stand-in in one capture, so equal values stay
equal (a user id read and then updated is still one id). String literals inside the
SQL text are redacted the same way: text() statements with inlined values hold data too.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import math
import re
import secrets
import string
import uuid
from typing import Any

_LETTERS = string.ascii_lowercase + string.digits
_SQL_STRING = re.compile(r"'((?:[^']|'')*)'")


class Redactor:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def _digest(self, kind: str, text: str) -> bytes:
        return hmac.new(self._key, f"{kind}:{text}".encode(), hashlib.sha256).digest()

    def _number(self, kind: str, text: str) -> int:
        return int.from_bytes(self._digest(kind, text), "big")

    def _text(self, value: str) -> str:
        stream = b""
        counter = 0
        while len(stream) < len(value):  # as long as the value, however long
            stream += self._digest("str", f"{counter}:{value}")
            counter += 1
        return "".join(_LETTERS[b % len(_LETTERS)] for b in stream[:len(value)])

    def value(self, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value if value is None else bool(self._number("bool", str(value)) & 1)
        if isinstance(value, int):
            digits = len(str(abs(value)))
            low = 0 if digits == 1 else 10 ** (digits - 1)
            drawn = low + self._number("int", str(value)) % (10 ** digits - low)
            return -drawn if value < 0 else drawn
        if isinstance(value, float):
            if not math.isfinite(value) or value == 0:
                return value
            scale = 10 ** math.floor(math.log10(abs(value)))
            drawn = scale * (1 + (self._number("float", repr(value)) % 9_000_000) / 1_000_000)
            return math.copysign(drawn, value)
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, decimal.Decimal):
            sign, kept, exponent = value.as_tuple()
            if not isinstance(exponent, int):
                return value
            n = self._number("decimal", str(value))
            new_digits = tuple((n >> (4 * i)) % 10 for i in range(len(kept)))
            return decimal.Decimal((sign, new_digits, exponent))
        if isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
            stream = b""
            while len(stream) < len(raw):
                stream += self._digest("bytes", f"{len(stream)}:{raw.hex()}")
            return stream[:len(raw)]
        if isinstance(value, dt.datetime):
            start = dt.datetime(value.year, 1, 1, tzinfo=value.tzinfo)
            seconds = self._number("datetime", value.isoformat()) % (365 * 86400)
            return start + dt.timedelta(seconds=seconds, microseconds=value.microsecond and 1)
        if isinstance(value, dt.date):
            first = dt.date(value.year, 1, 1)
            return first + dt.timedelta(days=self._number("date", value.isoformat()) % 365)
        if isinstance(value, dt.time):
            seconds = self._number("time", value.isoformat()) % 86400
            return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60,
                           tzinfo=value.tzinfo)
        if isinstance(value, dt.timedelta):
            return dt.timedelta(seconds=self._number("td", str(value)) %
                                max(1, int(abs(value.total_seconds())) * 2 + 1))
        if isinstance(value, uuid.UUID):
            return uuid.UUID(bytes=self._digest("uuid", str(value))[:16])
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return self._text(repr(value))  # a type we do not know: its text, redacted

    def params(self, params: Any) -> Any:
        if params is None:
            return None
        if isinstance(params, dict):
            return {k: self.value(v) for k, v in params.items()}
        return [self.value(v) for v in params]

    def sql(self, sql: str) -> str:
        """The SQL text with the content of its string literals replaced, lengths kept."""
        return _SQL_STRING.sub(lambda m: "'" + self._text(m.group(1)) + "'", sql)
