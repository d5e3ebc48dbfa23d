"""A msgpack writer for hostile tests: the same values as ``msgpack.packb``, in any width.

crdtkit's decoder must refuse every spelling of a value except the canonical one, and every
string that is not valid UTF-8; ``msgpack.packb`` can produce neither, so tests build such
bytes here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import msgpack

__all__ = ["Raw", "RawStr", "pack", "wide_ext"]

#: picks the form of one node: 0 is the shortest (msgpack's own), higher is wider
Width = Callable[[str], int]


class RawStr:
    """A msgpack str whose bytes are given as they are (so they may be invalid UTF-8)."""

    def __init__(self, data: bytes) -> None:
        self.data = data


class Raw:
    """Bytes spliced in unchanged (an ext value, say)."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def _shortest(kind: str) -> int:
    return 0


def _int(value: int, width: int) -> bytes:
    if width == 0:
        return bytes(msgpack.packb(value))
    if value >= 0:
        forms = [(0xCC, ">B", 2**8), (0xCD, ">H", 2**16), (0xCE, ">I", 2**32), (0xCF, ">Q", 2**64)]
        fitting = [form for form in forms if value < form[2]]
    else:
        forms = [(0xD0, ">b", 2**7), (0xD1, ">h", 2**15), (0xD2, ">i", 2**31), (0xD3, ">q", 2**63)]
        fitting = [form for form in forms if -form[2] <= value]
    marker, fmt, _ = fitting[min(width, len(fitting)) - 1]
    return bytes([marker]) + struct.pack(fmt, value)


def _header(size: int, width: int, fix: tuple[int, int] | None, sized: tuple[int, ...]) -> bytes:
    """A length header: the fix form (``(base, limit)``) if any, then 8/16/32-bit forms."""
    forms = []
    if fix is not None and size < fix[1]:
        forms.append(bytes([fix[0] | size]))
    if len(sized) == 3 and size < 2**8:
        forms.append(bytes([sized[0], size]))
    if size < 2**16:
        forms.append(bytes([sized[-2]]) + struct.pack(">H", size))
    forms.append(bytes([sized[-1]]) + struct.pack(">I", size))
    return forms[min(width, len(forms) - 1)]


_STR = ((0xA0, 32), (0xD9, 0xDA, 0xDB))
_BIN = (None, (0xC4, 0xC5, 0xC6))
_ARRAY = ((0x90, 16), (0xDC, 0xDD))
_MAP = ((0x80, 16), (0xDE, 0xDF))


def pack(value: Any, width: Width = _shortest) -> bytes:
    """``value`` as msgpack, each node in the form ``width(kind)`` picks (0: shortest)."""
    if isinstance(value, Raw):
        return value.data
    if isinstance(value, RawStr):
        return _header(len(value.data), width("str"), *_STR) + value.data
    if value is None or type(value) is bool:
        return bytes(msgpack.packb(value))
    if type(value) is int:
        return _int(value, width("int"))
    if type(value) is float:
        return b"\xcb" + struct.pack(">d", value)
    if type(value) is str:
        data = value.encode("utf-8", "surrogatepass")
        return _header(len(data), width("str"), *_STR) + data
    if type(value) is bytes:
        return _header(len(value), width("bin"), *_BIN) + value
    if type(value) in (list, tuple):
        head = _header(len(value), width("array"), *_ARRAY)
        return head + b"".join(pack(item, width) for item in value)
    if type(value) is dict:
        head = _header(len(value), width("map"), *_MAP)
        return head + b"".join(pack(k, width) + pack(v, width) for k, v in value.items())
    raise TypeError(f"cannot pack {value!r}")


def wide_ext(code: int, payload: bytes, width: int) -> bytes:
    """An ext value framed with ``width`` 0 (shortest), 1 (ext 8), 2 (ext 16) or 3 (ext 32)."""
    size = len(payload)
    fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
    forms = []
    if size in fixed:
        forms.append(bytes([fixed[size]]))
    if size < 2**8:
        forms.append(bytes([0xC7, size]))
    if size < 2**16:
        forms.append(b"\xc8" + struct.pack(">H", size))
    forms.append(b"\xc9" + struct.pack(">I", size))
    return forms[min(width, len(forms) - 1)] + struct.pack("b", code) + payload
