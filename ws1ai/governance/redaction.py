"""PII redaction before anything leaves for an LLM, and restoration of the answer.

`Redactor` replaces names, emails, serial numbers, IMEIs, phone numbers, MAC addresses and asset numbers with
stable placeholders (`<EMAIL_1>`): the same value always gets the same placeholder within one Redactor, so
the model can still reason about "the same user" across records, and `restore` puts the originals back into
its answer. Three detectors, strongest first:

1. field names in structured data (`serial_number`, `SerialNumber`, `Imei`, `UserEmailAddress`, …): the whole
   value is redacted whatever it looks like;
2. known values passed in (names and user names from device/user records, known serials, asset tags);
3. patterns in free text (emails, MACs, IMEIs, phone numbers, Apple-style serials, asset tags).

Redaction is deliberately over-eager: a false positive costs the model a little context, a false negative
leaks PII. JSON inside strings is parsed and redacted structurally.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["PII_FIELDS", "Redactor", "redact", "restore"]

_PLACEHOLDER = re.compile(r"<(?:NAME|EMAIL|SERIAL|IMEI|PHONE|MAC|ASSET)_\d+>")

# Normalised field name (lower case, no '_'/'-') → category.
PII_FIELDS: Mapping[str, str] = {
    **dict.fromkeys(["serialnumber", "serial", "deviceserial"], "SERIAL"),
    **dict.fromkeys(["imei", "meid", "imeinumber"], "IMEI"),
    **dict.fromkeys(["phone", "phonenumber", "mobile", "mobilenumber", "telephone"], "PHONE"),
    **dict.fromkeys(
        ["macaddress", "wifimacaddress", "ethernetmacaddress", "bluetoothmacaddress", "mac"], "MAC"
    ),
    **dict.fromkeys(["assetnumber", "assettag", "assetid"], "ASSET"),
    **dict.fromkeys(
        ["email", "emailaddress", "useremail", "useremailaddress", "manageremail", "mail"], "EMAIL"
    ),
    **dict.fromkeys(
        ["username", "user", "displayname", "firstname", "lastname", "fullname", "employeename"], "NAME"
    ),
}

# Order matters: a mailbox's display name before its address (the look-ahead needs the "@"), emails before
# anything that could match a part of one. The first _EARLY run before known terms, the rest after them.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # "Jane Doe <jane.doe@corp.example.com>": the name in front of an address in angle brackets.
    (
        "NAME",
        re.compile(r"\b[A-Z][\w'\u2019.-]*(?:[ \t]+[A-Z][\w'\u2019.-]*){0,3}(?=[ \t]*<[^<>\s@]+@[^<>\s]+>)"),
    ),
    ("EMAIL", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    ("MAC", re.compile(r"\b[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}\b")),
    ("MAC", re.compile(r"\b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\b")),
    ("IMEI", re.compile(r"\b\d{2}[- ]\d{6}[- ]\d{6}[- ]\d{1,2}\b|\b\d{15,16}\b")),
    (
        "PHONE",
        re.compile(
            r"(?<![\w+])\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}\b"
            r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4}\b|\b\d{3}[.-]\d{3}[.-]\d{4}\b"
        ),
    ),
    ("ASSET", re.compile(r"\b(?:ASSET|AST|TAG)[-_#]?\d{3,}\b", re.IGNORECASE)),
    # Whatever follows the word "serial" (or S/N) is one, however short: a Dell service tag has 7 characters.
    (
        "SERIAL",
        re.compile(
            r"(?:(?<=serial )|(?<=serial: )|(?<=serial number )|(?<=serial number: )|(?<=s/n )|(?<=s/n: ))"
            r"[A-Za-z0-9][A-Za-z0-9-]{3,24}\b",
            re.IGNORECASE,
        ),
    ),
    # Apple/OEM-style serials: 8 to 14 upper-case alphanumerics with at least one letter and one digit —
    # except ITSM record numbers (INC0010001, RITM…), which identify a ticket, not a person's device.
    (
        "SERIAL",
        re.compile(
            r"\b(?!(?:INC|RITM|REQ|CHG|PRB|SCTASK|TASK)\d+\b)(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)[A-Z0-9]{8,14}\b"
        ),
    ),
]
_EARLY = 6  # NAME-before-mailbox, EMAIL, MAC twice, IMEI, PHONE


class Redactor:
    """Holds the placeholder ↔ original mapping for one conversation with the model."""

    def __init__(
        self,
        names: Iterable[str] = (),
        known: Mapping[str, Iterable[str]] | None = None,
        *,
        keep: Iterable[str] = (),
    ) -> None:
        # `keep`: values that are ids, never personal data, however they look (an employee id such as
        # E0100003 has a serial's shape); the audit trail passes the action's targets and run key.
        self._keep = frozenset(str(k) for k in keep)
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counters: dict[str, int] = {}
        self._terms: dict[str, str] = {}
        self._term_re: re.Pattern[str] | None = None
        self.learn(names, known)

    def learn(self, names: Iterable[str] = (), known: Mapping[str, Iterable[str]] | None = None) -> None:
        """Add known values, e.g. the names this Redactor met in structured fields, for the free text that
        follows (a rationale naming the person its payload describes)."""
        terms = dict(self._terms)
        for name in names:
            name = name.strip()
            if not name or name in self._keep:
                continue
            terms[name] = "NAME"
            # "Doe's laptop": parts of a full name are names too (3+ letters, to spare initials).
            for part in re.split(r"[\s,]+", name):
                if len(part) >= 3 and part not in self._keep:
                    terms.setdefault(part, "NAME")
        for category, values in (known or {}).items():
            for v in values:
                if str(v).strip() and str(v).strip() not in self._keep:
                    terms[str(v).strip()] = category.upper()
        # Longest first, so "Jane Doe" is one placeholder, not two.
        ordered = sorted(terms, key=len, reverse=True)
        self._terms = terms
        self._term_re = (
            re.compile("|".join(rf"(?<!\w){re.escape(t)}(?!\w)" for t in ordered)) if ordered else None
        )

    @property
    def mapping(self) -> dict[str, str]:
        """placeholder → original (keep it local; it is the PII)."""
        return dict(self._by_placeholder)

    def placeholder(self, category: str, value: str) -> str:
        key = (category, value)
        if key not in self._by_value:
            n = self._counters.get(category, 0) + 1
            self._counters[category] = n
            ph = f"<{category}_{n}>"
            self._by_value[key] = ph
            self._by_placeholder[ph] = value
        return self._by_value[key]

    def redact_text(self, text: str) -> str:
        stripped = text.strip()
        if stripped[:1] in ("{", "[") and len(stripped) > 1:
            try:
                parsed = json.loads(stripped)
            except ValueError:
                pass
            else:
                return json.dumps(self.redact(parsed), ensure_ascii=False)
        out = text
        for category, pattern in _PATTERNS[:_EARLY]:
            out = _sub_outside(out, pattern, self._replacer(category))
        if self._term_re is not None:
            term_re = self._term_re
            out = _sub_outside(out, term_re, lambda m: self.placeholder(self._terms[m.group(0)], m.group(0)))
        for category, pattern in _PATTERNS[_EARLY:]:
            out = _sub_outside(out, pattern, self._replacer(category))
        return out

    def _replacer(self, category: str) -> Callable[[re.Match[str]], str]:
        def repl(m: re.Match[str]) -> str:
            return m.group(0) if m.group(0) in self._keep else self.placeholder(category, m.group(0))

        return repl

    def redact(self, value: Any) -> Any:
        """Redact str, dict (keys and values), list, tuple, set and pydantic models recursively.

        Numbers, booleans and None pass through (except 14+ digit integers); other objects are redacted as
        their `str()`.
        """
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            result: dict[Any, Any] = {}
            for k, v in value.items():
                category = PII_FIELDS.get(re.sub(r"[_\-\s]", "", str(k)).lower())
                new_key = self.redact_text(k) if isinstance(k, str) else k
                if (
                    category is not None
                    and v is not None
                    and not isinstance(v, Mapping | list | tuple | bool)
                ):
                    keep = not str(v).strip() or str(v) in self._keep
                    result[new_key] = v if keep else self.placeholder(category, str(v))
                else:
                    result[new_key] = self.redact(v)
            return result
        if isinstance(value, list | tuple):
            items = [self.redact(v) for v in value]
            return type(value)(items) if isinstance(value, tuple) else items
        if isinstance(value, set | frozenset):
            return [self.redact(v) for v in sorted(value, key=str)]
        if value is None or isinstance(value, bool | float):
            return value
        if isinstance(value, int):
            # Small ints are ids and counts; a 14+ digit number may be an IMEI or a phone number.
            return value if abs(value) < 10**13 else self.redact_text(str(value))
        dump = getattr(value, "model_dump", None)
        if callable(dump):  # pydantic models (e.g. UEM wire objects): redact their JSON form
            return self.redact(dump(mode="json"))
        # Anything else (dates, UUIDs, custom objects) would be str()-ed on its way to the model anyway,
        # so redact that string rather than let json.dumps(default=str) leak it later.
        return self.redact_text(str(value))

    def restore(self, value: Any) -> Any:
        """Put the originals back into the model's answer (str, or nested dict/list)."""
        if isinstance(value, str):
            return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), value)
        if isinstance(value, Mapping):
            return {self.restore(k): self.restore(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            items = [self.restore(v) for v in value]
            return type(value)(items) if isinstance(value, tuple) else items
        return value


def _sub_outside(text: str, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str]) -> str:
    """Substitute only outside existing placeholders, so a later pass never rewrites `<EMAIL_1>`."""
    parts: list[str] = []
    last = 0
    for m in _PLACEHOLDER.finditer(text):
        parts.append(pattern.sub(repl, text[last : m.start()]))
        parts.append(m.group(0))
        last = m.end()
    parts.append(pattern.sub(repl, text[last:]))
    return "".join(parts)


def redact(value: Any, names: Iterable[str] = ()) -> tuple[Any, Redactor]:
    """One-shot: the redacted value and the Redactor that can restore the answer."""
    r = Redactor(names)
    return r.redact(value), r


def restore(value: Any, redactor: Redactor) -> Any:
    return redactor.restore(value)
