"""Spec files as text: bounded in size, decoded as YAML allows, never a crash on bad bytes.

YAML streams are UTF-8, or UTF-16 / UTF-32 with a byte-order mark; anything else, and any
NUL byte (a UTF-16 file saved without its mark, a binary file), is refused at the line where
it first goes wrong, so the message points into the file rather than at "line 0".
"""

from __future__ import annotations

import codecs

from meshwatch.errors import Problem

MAX_FILE_BYTES = 16 * 1024 * 1024  # 16 MiB: about 60,000 SLOs; larger trees are split in files
_MIB = 1024 * 1024
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def too_large(file: str, size: int) -> Problem | None:
    """The problem of a file over MAX_FILE_BYTES (checked before it is read), else None."""
    if size <= MAX_FILE_BYTES:
        return None
    return Problem(
        file,
        1,
        "",
        f"file is {size / _MIB:.1f} MiB; a spec file may be at most "
        f"{MAX_FILE_BYTES // _MIB} MiB (split the SLOs into several files)",
    )


def decode(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    """The text of a spec file, or the problem that makes it unreadable (with its line)."""
    too_big = too_large(file, len(data))
    if too_big is not None:
        return None, too_big
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, column = _position(data[: exc.start].decode(encoding, errors="replace"))
        name = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8"}.get(encoding, encoding.upper())
        return None, Problem(
            file,
            line,
            "",
            f"not {name} text: byte 0x{data[exc.start]:02x} at column {column}; "
            "save the file as UTF-8",
        )
    nul = text.find("\0")
    if nul >= 0:
        line, column = _position(text[:nul])
        return None, Problem(
            file,
            line,
            "",
            f"NUL byte at column {column}: a spec is text (a UTF-16 file needs its "
            "byte-order mark; save it as UTF-8)",
        )
    return text.removeprefix("\ufeff"), None


def _position(before: str) -> tuple[int, int]:
    """1-based line and column of the character right after `before`."""
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
