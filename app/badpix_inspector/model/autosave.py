"""Unsaved hand edits, and their autosave: one file per dataset, claimed by one window.

A window's hand edits are written a second after each change to
``$XDG_CACHE_HOME/badpix-inspector/autosave/<key>.json``, where the key is made of the
dataset's file paths. A window claims the key with a lock file beside it
(``<key>.lock``: process id, host and a per-window token) before it writes, restores or
deletes that autosave. So a second window on other data never touches this dataset's
edits, and a second window on the same data, while the first is alive, does not take its
lock (it then keeps no autosave and says so). A lock whose process is gone (a crash) is
stale: the next window on that dataset takes it over and offers the edits back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..io import InputError, read_session, write_session

__all__ = ["Autosave", "DatasetLock", "UnsavedEdits", "cache_folder", "dataset_key"]

log = logging.getLogger(__name__)

#: Locks held by windows of this process, by token: a lock written by this process id
#: is alive only while its window holds it (tests and scripts open several windows).
_LIVE_TOKENS: set[str] = set()

#: A lock file that cannot be read is taken to be in the middle of being written for this
#: long; older, it is a leftover.
_UNREADABLE_GRACE = 10.0


def cache_folder() -> Path:
    """Return the per-user folder for autosaves (``$XDG_CACHE_HOME/badpix-inspector``)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "badpix-inspector"


def dataset_key(paths: Iterable[str | Path]) -> str | None:
    """Return a file-name-safe key for a dataset: its files' absolute paths, hashed.

    The order and the roles do not matter (a role change keeps the dataset); None for no
    files.
    """
    names = sorted({str(Path(path).resolve()) for path in paths})
    if not names:
        return None
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:20]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process: alive
        return True
    return True


class DatasetLock:
    """One window's claim on one dataset's autosave (a lock file created exclusively)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.token = uuid.uuid4().hex
        self.held = False

    def _holder_alive(self) -> bool:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            pid, host, token = int(info["pid"]), str(info["host"]), str(info["token"])
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError, TypeError):
            try:
                return time.time() - self.path.stat().st_mtime < _UNREADABLE_GRACE
            except OSError:
                return False
        if host != socket.gethostname():
            return True  # another machine's process cannot be checked: respect it
        if pid == os.getpid():
            return token in _LIVE_TOKENS
        return _process_alive(pid)

    def acquire(self) -> bool:
        """Take the lock unless a live window holds it; return whether it is held now."""
        if self.held:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _attempt in range(2):
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                if self._holder_alive():
                    return False
                log.info("taking over the stale autosave lock %s", self.path)
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                           "token": self.token}, stream)
            self.held = True
            _LIVE_TOKENS.add(self.token)
            return True
        return False

    def release(self) -> None:
        """Give the lock up (only if this window holds it)."""
        if not self.held:
            return
        self.held = False
        _LIVE_TOKENS.discard(self.token)
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            if info.get("token") == self.token:
                self.path.unlink(missing_ok=True)
        except (OSError, ValueError):
            pass

    def is_free(self) -> bool:
        """Return True when nobody alive holds this lock (it may still exist, stale)."""
        return self.held or not self._holder_alive()


class Autosave:
    """The autosave of the dataset a window shows, written only under that dataset's lock.

    Parameters
    ----------
    folder : pathlib.Path, optional
        Where autosaves live; `cache_folder` / "autosave" by default (read when needed,
        so that a changed ``XDG_CACHE_HOME`` is followed).
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        self.key: str | None = None
        self.lock: DatasetLock | None = None

    @property
    def folder(self) -> Path:
        """The folder holding every dataset's autosave and lock."""
        return self._folder or cache_folder() / "autosave"

    @property
    def path(self) -> Path | None:
        """The autosave file of the dataset (None without a dataset)."""
        return None if self.key is None else self.folder / f"{self.key}.json"

    @property
    def owned(self) -> bool:
        """True when this window holds the dataset's lock (and so may use its autosave)."""
        return self.lock is not None and self.lock.held

    def switch(self, key: str | None, keep_old: bool = False) -> bool:
        """Follow the window to another dataset: release the old lock, claim the new one.

        The old dataset's autosave is removed first when this window owned it (its edits
        are carried over to the new dataset, same detector, or the user let them go),
        unless ``keep_old``: then it stays for a later window to offer back.
        Returns whether the new dataset's lock is held.
        """
        if key == self.key:
            return self.owned
        if not keep_old:
            self.remove()
        self.release()
        self.key = key
        if key is not None:
            self.lock = DatasetLock(self.folder / f"{key}.lock")
            self.lock.acquire()
        return self.owned

    def release(self) -> None:
        """Give up the lock (the file stays, for a later window, unless removed first)."""
        if self.lock is not None:
            self.lock.release()
        self.lock = None

    def available(self) -> bool:
        """Return True when an autosave of this dataset exists and this window owns it."""
        return self.owned and self.path.is_file()

    def write(self, state: dict[str, Any]) -> Path | None:
        """Write ``state`` as this dataset's autosave (nothing without the lock)."""
        if not self.owned:
            return None
        try:
            return write_session(self.path, state)
        except (InputError, OSError) as error:
            log.warning("autosave failed: %s", error)
            return None

    def read(self) -> dict[str, Any]:
        """Read this dataset's autosave (raises `InputError` when unusable)."""
        return read_session(self.path)

    def remove(self) -> None:
        """Delete this dataset's autosave (only under this window's lock)."""
        if self.owned:
            self.path.unlink(missing_ok=True)

    def discard_orphan(self, path: Path) -> bool:
        """Delete an orphaned autosave (under its lock, so never a live window's)."""
        lock = DatasetLock(Path(path).with_suffix(".lock"))
        if not lock.acquire():
            return False
        try:
            Path(path).unlink(missing_ok=True)
        finally:
            lock.release()
        return True

    def orphans(self) -> list[Path]:
        """Return autosaves that no live window holds (left by a crash), newest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*.json"):
            if path.stem == self.key:
                continue
            if DatasetLock(path.with_suffix(".lock")).is_free():
                found.append(path)
        return sorted(found, key=lambda path: path.stat().st_mtime, reverse=True)


class UnsavedEdits:
    """Whether the hand edits changed since they were last saved (session, products, edits).

    Edits are saved at a revision of `ManualEdits`; they are unsaved while the current
    revision differs and some pixel is edited.
    """

    def __init__(self) -> None:
        self.saved_revision = 0

    def pending(self, edits) -> bool:
        """Return True when ``edits`` (a `ManualEdits` or None) hold unsaved changes."""
        return edits is not None and edits.revision != self.saved_revision and \
            bool(edits.state.any())

    def mark_saved(self, edits) -> None:
        """Record that ``edits`` are saved as they are now."""
        self.saved_revision = edits.revision if edits is not None else 0

    def mark_unsaved(self) -> None:
        """Record that the edits are nowhere saved (restored from an autosave)."""
        self.saved_revision = -1
