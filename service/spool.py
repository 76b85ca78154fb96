"""The edge's local spool: deliveries the queue could not take (Redis unreachable), kept on disk in arrival order.

One directory (`INCIDENT_BOT_SPOOL_DIR`, default `<data dir>/spool`) shared by the web processes of a host:

- `<pid>-<token>.spool`: one process's records, appended and fsynced before the delivery is answered.
  A record is `MAGIC`, its length, its CRC-32, then a JSON header line and the body. A record torn by a
  crash is the last of its file (its process is dead, or rotated to a new file after a failed write), so
  a reader stops there and the rest of that file is dropped with a log line.
- `<name>.done`: how far a drain has moved `<name>` to the queue (offset and records).
- `.lock`: a `flock` held by every append and every drain. A drain sees whole records only, no two
  drains move the same record, and the kernel releases the lock of a process that dies. It also keeps
  the last stamp: every record is stamped under the lock, so a drain that merges all files by stamp
  moves them in arrival order across processes, and the files of dead processes go with the rest.

Bounds are per process (the file it appends to): a full spool, like a disk that fails, is an error the
caller answers with 503.
"""

from __future__ import annotations

import fcntl
import heapq
import json
import logging
import os
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

log = logging.getLogger("incident_bot.spool")

MAGIC = b"IBS1"
FRAME = struct.Struct(">4sII")  # magic, payload length, CRC-32 of the payload
SUFFIX = ".spool"
DONE = ".done"
LOCK = ".lock"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_RECORDS = 10_000
LOCK_WAIT = 5.0  # seconds an append waits for a drain's batch before the delivery is refused (503)
BATCH = 200  # records one drain moves under the lock, so appends wait for a batch, not a whole backlog


class SpoolError(Exception):
    """The spool cannot take a delivery: `reason` is "spool full", "spool unwritable" or "spool busy"."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Record:
    """One delivery as the edge would have enqueued it, with its arrival stamp (nanoseconds)."""

    body: bytes
    meta: dict[str, Any]
    delivery_id: str
    issue_key: str
    actor: str
    stamp: int = 0


def encode(record: Record) -> bytes:
    """A record's bytes on disk: frame, JSON header line, body."""
    header = {k: getattr(record, k) for k in ("stamp", "delivery_id", "issue_key", "actor", "meta")}
    payload = json.dumps(header, separators=(",", ":")).encode() + b"\n" + record.body
    return FRAME.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def _decode(payload: bytes) -> Record:
    line, _, body = payload.partition(b"\n")
    header = json.loads(line)
    return Record(body=body, **header)


def read_records(path: Path, start: int = 0) -> Iterator[tuple[Record, int]]:
    """Each whole record of a spool file from byte `start`, with the offset after it; stops at a torn one."""
    with path.open("rb") as handle:
        handle.seek(start)
        offset = start
        while True:
            head = handle.read(FRAME.size)
            if not head:
                return
            payload = b""
            if len(head) == FRAME.size:
                magic, length, crc = FRAME.unpack(head)
                payload = handle.read(length) if magic == MAGIC else b""
                if magic == MAGIC and len(payload) == length and zlib.crc32(payload) == crc:
                    try:
                        record = _decode(payload)
                    except (ValueError, TypeError):
                        pass
                    else:
                        offset += FRAME.size + length
                        yield record, offset
                        continue
            size = path.stat().st_size
            log.error("spool file %s: unreadable record at byte %d, %d bytes dropped", path.name, offset, size - offset)
            return


@dataclass
class _Progress:
    """What a drain has moved of one file (persisted in its `.done`)."""

    offset: int = 0
    records: int = 0
    exhausted: bool = False
    moved: bool = False


@dataclass
class Spool:
    """The spool directory; `append` from the request path, `drain` from whoever sees Redis answer."""

    directory: Path
    max_bytes: int = DEFAULT_MAX_BYTES
    max_records: int = DEFAULT_MAX_RECORDS
    _pid: int = field(default=0, repr=False)
    _name: str = field(default="", repr=False)
    _appended: int = field(default=0, repr=False)  # records this process put in its current file

    def pending(self) -> bool:
        """Whether any record waits (cheap: one directory listing, no file read)."""
        try:
            return any(name.endswith(SUFFIX) for name in os.listdir(self.directory))
        except OSError:
            return False

    def depth(self) -> int:
        """How many records wait, over every file (reads them)."""
        if not self.directory.is_dir():
            return 0
        with self._locked(wait=LOCK_WAIT) as held:
            if not held:
                raise SpoolError("spool busy", f"lock not had in {LOCK_WAIT:.0f} s")
            return sum(1 for name in self._files() for _ in read_records(self.directory / name, self._done(name)[0]))

    def append(self, record: Record) -> Record:
        """Write `record` at the end of this process's file, fsynced; the stamped record, or SpoolError."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self._locked(wait=LOCK_WAIT) as held:
                if not held:
                    raise SpoolError("spool busy", f"lock not had in {LOCK_WAIT:.0f} s")
                return self._append(record, held)
        except OSError as exc:
            raise SpoolError("spool unwritable", str(exc)) from exc

    def _append(self, record: Record, lock: int) -> Record:
        if self._pid != os.getpid():  # a forked process starts a file of its own
            self._pid, self._name = os.getpid(), ""
        if not self._name:
            self._name, self._appended = f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}", 0
        path = self.directory / self._name
        try:
            size = path.stat().st_size
        except FileNotFoundError:  # drained and removed, or never written
            size, self._appended = 0, 0
        done_offset, done_records = self._done(self._name)
        last = os.pread(lock, 8, 0)
        stamp = max(time.time_ns(), (int.from_bytes(last) + 1) if len(last) == 8 else 0)
        record = replace(record, stamp=stamp)
        data = encode(record)
        waiting = self._appended - done_records
        if waiting >= self.max_records or size - done_offset + len(data) > self.max_bytes:
            raise SpoolError("spool full", f"{waiting} records, {size - done_offset} bytes waiting in {path}")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(f"short write to {path}")
            os.fsync(fd)
        except OSError:
            self._name = ""  # whatever reached the file is a torn tail: later records go to a new file
            _truncate(fd, size)
            raise
        finally:
            os.close(fd)
        if size == 0:
            _fsync_dir(self.directory)  # the new file's name is as durable as its record
        os.pwrite(lock, stamp.to_bytes(8), 0)
        self._appended += 1
        return record

    def drain(self, deliver: Callable[[Record], None], limit: int = BATCH) -> int | None:
        """Hand up to `limit` records to `deliver`, oldest first, over every file; None if another drain runs.

        A record leaves the spool after `deliver` returned: an exception from `deliver` stops the drain with
        that record first in line, so `deliver` must be idempotent (the queue drops a delivery id it has seen).
        """
        with self._locked(wait=0) as held:
            if not held:
                return None
            files = self._files()
            progress = {name: _Progress(*self._done(name)) for name in files}
            heads: list[tuple[int, int, Record, int, Iterator[tuple[Record, int]]]] = []

            def advance(index: int, records: Iterator[tuple[Record, int]]) -> None:
                nxt = next(records, None)
                if nxt is None:
                    progress[files[index]].exhausted = True
                else:
                    heapq.heappush(heads, (nxt[0].stamp, index, nxt[0], nxt[1], records))

            for index, name in enumerate(files):
                advance(index, read_records(self.directory / name, progress[name].offset))
            moved = 0
            try:
                while heads and moved < limit:
                    _, index, record, end, records = heapq.heappop(heads)
                    deliver(record)
                    moved += 1
                    step = progress[files[index]]
                    step.offset, step.records, step.moved = end, step.records + 1, True
                    advance(index, records)
            finally:
                for *_, records in heads:
                    records.close()  # type: ignore[attr-defined]
                self._commit(progress)
            return moved

    def _commit(self, progress: dict[str, _Progress]) -> None:
        """Remove the files a drain emptied; record how far it got in the others."""
        for name, step in progress.items():
            if step.exhausted:
                (self.directory / name).unlink(missing_ok=True)
                (self.directory / (name + DONE)).unlink(missing_ok=True)
            elif step.moved:
                temporary = self.directory / (name + DONE + ".tmp")
                temporary.write_text(f"{step.offset} {step.records}\n")
                with temporary.open("rb") as handle:
                    os.fsync(handle.fileno())
                temporary.replace(self.directory / (name + DONE))
        for name in os.listdir(self.directory):  # a drain that died between the two unlinks above
            if name.endswith(DONE) and not (self.directory / name.removesuffix(DONE)).exists():
                (self.directory / name).unlink(missing_ok=True)
        _fsync_dir(self.directory)

    def _files(self) -> list[str]:
        return sorted(name for name in os.listdir(self.directory) if name.endswith(SUFFIX))

    def _done(self, name: str) -> tuple[int, int]:
        """(offset, records) a drain has moved of file `name`; (0, 0) when unknown (re-sent: the queue dedupes)."""
        try:
            offset, records = (self.directory / (name + DONE)).read_text().split()
            return int(offset), int(records)
        except (OSError, ValueError):
            return 0, 0

    @contextmanager
    def _locked(self, wait: float) -> Iterator[int | None]:
        """The spool's lock: its fd while held; None if not had within `wait` seconds (or no spool yet)."""
        try:
            fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            yield None
            return
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield None
                        return
                    time.sleep(0.005)
            try:
                yield fd
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _truncate(fd: int, size: int) -> None:
    """Best effort: cut a failed append off its file (a reader would stop there anyway)."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
