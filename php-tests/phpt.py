"""The .phpt format of PHP's run-tests.php: sections, and how an output is judged.

A test file is a sequence of ``--NAME--`` lines, each opening a section that
runs to the next one. What counts as a pass follows run-tests.php: the output
and the expectation are both trimmed and their line ends made ``\\n``; EXPECT
compares them as they are, EXPECTF after turning the ``%`` placeholders into
a pattern, EXPECTREGEX as a regular expression of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SECTION = re.compile(r"^--([A-Z_]+)--\s*$")

#: Sections this runner reads; any other is reported, so a test is never run half-understood.
KNOWN = frozenset({
    "TEST", "DESCRIPTION", "CREDITS", "FILE", "FILEEOF", "FILE_EXTERNAL", "EXPECT", "EXPECTF", "EXPECTREGEX",
    "EXPECT_EXTERNAL", "EXPECTF_EXTERNAL", "EXPECTREGEX_EXTERNAL", "SKIPIF", "GET", "POST", "POST_RAW",
    "PUT", "COOKIE", "INI", "ENV", "ARGS", "HEADERS", "EXPECTHEADERS", "CLEAN", "CONFLICTS", "EXTENSIONS",
    "XFAIL", "XLEAK", "FLAKY", "CGI", "WHITESPACE_SENSITIVE", "CAPTURE_STDIO", "STDIN", "REDIRECTTEST",
    "GZIP_POST", "DEFLATE_POST", "PHPDBG", "BOB_FILE",
})

#: run-tests.php's EXPECTF placeholders and what each matches.
_PLACEHOLDERS = {
    "%e": re.escape("/"),
    "%s": r"[^\r\n]+",
    "%S": r"[^\r\n]*",
    "%a": r".+",
    "%A": r".*",
    "%w": r"\s*",
    "%i": r"[+-]?\d+",
    "%d": r"\d+",
    "%x": r"[0-9a-fA-F]+",
    "%f": r"[+-]?(?:\d+|(?=\.\d))(?:\.\d+)?(?:[Ee][+-]?\d+)?",
    "%c": r".",
    "%0": r"\x00",
}
_PLACEHOLDER = re.compile("|".join(re.escape(key) for key in _PLACEHOLDERS))


class FormatError(ValueError):
    """A file that is not a .phpt test (what is wrong, for the FAIL line)."""


@dataclass(frozen=True)
class Test:
    path: Path
    sections: dict[str, str]

    @property
    def title(self) -> str:
        return self.sections.get("TEST", "").strip()

    def has(self, name: str) -> bool:
        return name in self.sections

    def text(self, name: str) -> str:
        return self.sections.get(name, "")

    @property
    def code(self) -> str:
        """The script: FILE, FILEEOF (without its final line end) or FILE_EXTERNAL."""
        if "FILE" in self.sections:
            return self.sections["FILE"]
        if "FILEEOF" in self.sections:
            return self.sections["FILEEOF"].rstrip("\r\n")
        return (self.path.parent / self.sections["FILE_EXTERNAL"].strip()).read_text()

    def expectation(self) -> tuple[str, str]:
        """(kind, text): kind is EXPECT, EXPECTF or EXPECTREGEX."""
        for kind in ("EXPECT", "EXPECTF", "EXPECTREGEX"):
            if kind in self.sections:
                return kind, self.sections[kind]
            external = kind + "_EXTERNAL"
            if external in self.sections:
                return kind, (self.path.parent / self.sections[external].strip()).read_text()
        raise FormatError("no EXPECT, EXPECTF or EXPECTREGEX section")


def parse(path: Path) -> Test:
    """The sections of a .phpt file; FormatError when it has none of the required ones."""
    sections: dict[str, str] = {}
    current = ""
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(keepends=True):
        match = _SECTION.match(line)
        if match:
            if current:
                sections[current] = "".join(lines)
            current, lines = match.group(1), []
        elif current:
            lines.append(line)
        elif line.strip():
            raise FormatError("text before the first section")
    if current:
        sections[current] = "".join(lines)
    if "TEST" not in sections:
        raise FormatError("no --TEST-- section")
    if not {"FILE", "FILEEOF", "FILE_EXTERNAL"} & set(sections):
        raise FormatError("no --FILE-- section")
    unknown = set(sections) - KNOWN
    if unknown:
        raise FormatError("unknown sections: " + ", ".join(sorted(unknown)))
    test = Test(path, sections)
    test.expectation()
    return test


def normalized(text: str) -> str:
    """As run-tests.php compares: trimmed, CRLF as LF."""
    return text.strip().replace("\r\n", "\n")


def expectf_pattern(expected: str) -> str:
    """An EXPECTF text as a regular expression: %r...%r is a pattern of its own, the
    placeholders stand for what they match, everything else is literal."""
    pattern = []
    for index, part in enumerate(expected.split("%r")):
        if index % 2:
            pattern.append("(?:" + part + ")")
            continue
        position = 0
        for placeholder in _PLACEHOLDER.finditer(part):
            pattern.append(re.escape(part[position:placeholder.start()]))
            pattern.append(_PLACEHOLDERS[placeholder.group(0)])
            position = placeholder.end()
        pattern.append(re.escape(part[position:]))
    return "".join(pattern)


def matches(kind: str, expected: str, output: str) -> bool:
    """Whether ``output`` passes the expectation ``kind`` (EXPECT, EXPECTF, EXPECTREGEX)."""
    wanted, got = normalized(expected), normalized(output)
    if kind == "EXPECT":
        return wanted == got
    pattern = expectf_pattern(wanted) if kind == "EXPECTF" else wanted
    return re.fullmatch(pattern, got, re.DOTALL) is not None


def first_difference(expected: str, output: str) -> str:
    """Where the output departs from the expectation, for a FAIL line."""
    wanted, got = normalized(expected).split("\n"), normalized(output).split("\n")
    for number, (want, have) in enumerate(zip(wanted, got, strict=False), start=1):
        if want != have:
            return f"line {number}: expected {want[:80]!r}, got {have[:80]!r}"
    if len(wanted) != len(got):
        return f"expected {len(wanted)} lines, got {len(got)}"
    return "output differs"
