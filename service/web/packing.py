"""The edge's Redis commands packed by hiredis in one call, without redis-py 8's Python pass over every argument.

redis-py 8.2 (the version constraints.txt installs) encodes each argument in Python before handing the
command to hiredis, which encodes str, bytes, int and float itself. On the edge's one command per
delivery, the enqueue script's twenty arguments, that pass was most of what the incident path gained
per delivery since the pin (bench/run.py: 0.58x the bare endpoint before, 0.46x after). `HiredisPacker`
is redis-py's own `command_packer` hook: the same bytes, one C call.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import DataError

try:
    import hiredis

    HIREDIS = True
except ImportError:  # redis[hiredis] installs it; without it redis-py packs as it always does
    HIREDIS = False


class HiredisPacker:
    """Pack a command as redis-py does (its `command_packer` interface), with hiredis encoding the arguments."""

    def pack(self, *args: Any) -> list[bytes]:
        """The command's bytes; an argument hiredis does not take (bool, None, an int subclass) as redis-py has it."""
        head = args[0]
        if isinstance(head, str):
            args = (*head.encode().split(), *args[1:])  # `SCRIPT LOAD`: the server wants two words
        elif b" " in head:
            args = (*head.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            encoded: tuple[Any, ...] = tuple(_encoded(arg) for arg in args)
            return [hiredis.pack_command(encoded)]


def packer_options() -> dict[str, Any]:
    """Connection options that pack with hiredis when it is installed (none otherwise)."""
    return {"command_packer": HiredisPacker()} if HIREDIS else {}


def _encoded(value: Any) -> bytes:
    """redis-py's encoding of one argument (`Encoder.encode`, utf-8): bytes as is, numbers by repr, text as utf-8."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, bool):
        raise DataError("Invalid input of type: 'bool'. Convert to a bytes, string, int or float first.")
    if isinstance(value, (int, float)):
        return repr(value).encode()
    if isinstance(value, str):
        return value.encode()
    raise DataError(f"Invalid input of type: '{type(value).__name__}'. Convert to a bytes, string, int or float first.")
