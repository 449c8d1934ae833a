"""The one way files are written: never onto an input, atomically, all or none.

Every file the tools write (products, parameter files, batch summaries and overviews,
edits, sessions, flag masks, region files, PNGs) goes through an `OutputGuard`:

- it refuses any path that is an input, or resolves to one (symbolic links, ``..``, a hard
  link to the same inode), and any path that is a folder, a FIFO or a device;
- it writes each file to a temporary file in the same folder and renames it in place, so a
  reader never sees half a file;
- a run that writes several files stages them all, then renames them all (`OutputGuard.batch`):
  if anything fails before the end, the temporary files are removed and the files already
  renamed are put back as they were;
- while it writes, SIGINT and SIGTERM remove the temporary files before the signal takes its
  usual course (KeyboardInterrupt, or the process ends with the signal's status).

Inputs are checked without being opened: `check_input_file` looks at ``stat`` only, so a FIFO
or a device is refused at once instead of hanging a reader.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar

from .errors import InputError

__all__ = [
    "OutputGuard",
    "OutputSet",
    "check_input_file",
    "describe_os_error",
    "remove_stale_temporaries",
]

log = logging.getLogger(__name__)

#: What a write is given: the bytes, or a function that writes to the open file.
Content = bytes | Callable[[BinaryIO], object]

_KIND_OF_FILE = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def _kind(mode: int) -> str | None:
    """Return what a non-regular file is ("a FIFO (named pipe)", ...), None for a file."""
    for test, name in _KIND_OF_FILE:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def describe_os_error(error: BaseException) -> str:
    """Say what an operating-system error means for the user, in a few words.

    Astropy sometimes hides the real error behind another raised while it cleans up
    (a full disk surfaces as an ``AttributeError``): the chain of causes is searched for
    the first `OSError`.
    """
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            if current.errno == errno.ENOSPC:
                return "the disk is full"
            if current.errno == errno.EDQUOT:
                return "the disk quota is exceeded"
            if current.errno in (errno.EACCES, errno.EPERM):
                return "permission denied"
            if current.errno == errno.ENAMETOOLONG:
                return "the file name is too long"
            if current.errno == errno.EROFS:
                return "the file system is read-only"
            return current.strerror or str(current)
        current = current.__cause__ or current.__context__
    return f"{type(error).__name__}: {error}"


def _find_os_error(error: BaseException) -> OSError | None:
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            return current
        current = current.__cause__ or current.__context__
    return None


def check_input_file(path: str | Path, kind: str = "input") -> os.stat_result:
    """Check that ``path`` is a regular, readable, non-empty file, without opening it.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    kind : str
        What the file is for, in messages ("input", "association", "edits").

    Returns
    -------
    os.stat_result
        The file's status.

    Raises
    ------
    InputError
        When it is missing, a folder, a FIFO, a device or a socket, unreadable or empty.
    """
    path = Path(path)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise InputError(path, "no such file", "check the path") from None
    except PermissionError:
        raise InputError(path, "permission denied (a folder on the way cannot be entered)",
                         "fix the folder's permissions") from None
    except OSError as error:
        raise InputError(path, f"cannot be examined ({describe_os_error(error)})",
                         "check the path") from None
    what = _kind(status.st_mode)
    if what is not None:
        remedy = f"give the {kind} file itself" if what == "a folder" else (
            f"give a regular {kind} file (copy the data to a file first)")
        raise InputError(path, f"is {what}, not a regular file", remedy)
    if not os.access(path, os.R_OK):
        raise InputError(path, "permission denied: the file cannot be read",
                         "fix its permissions (chmod u+r) or run as its owner")
    if status.st_size == 0:
        raise InputError(path, "the file is empty", "copy or download it again")
    return status


def _nearly_full(folder: Path) -> bool:
    """Return True when the file system of ``folder`` has (almost) no room left."""
    try:
        status = os.statvfs(folder)
    except OSError:
        return False
    return status.f_bavail * status.f_frsize < 64 * 1024


def _name_max(folder: Path) -> int:
    """Return the longest file name (bytes) the file system of ``folder`` allows."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


class _SignalCleanup:
    """Turn SIGINT and SIGTERM into an exception while temporary files exist.

    Handlers are installed by the outermost user (nesting is counted) in the main thread
    only: Python delivers signals there, and other threads cannot install handlers.
    """

    _lock = threading.Lock()
    _depth = 0
    _previous: ClassVar[dict[int, object]] = {}

    class Interrupted(BaseException):
        """Raised by the handler; carries the signal number."""

        def __init__(self, signum: int) -> None:
            super().__init__(signum)
            self.signum = signum

    @classmethod
    def _handler(cls, signum, frame) -> None:
        raise cls.Interrupted(signum)

    @classmethod
    @contextlib.contextmanager
    def active(cls) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        with cls._lock:
            cls._depth += 1
            if cls._depth == 1:
                cls._previous = {}
                for signum in (signal.SIGINT, signal.SIGTERM):
                    previous = signal.getsignal(signum)
                    if previous is signal.SIG_IGN or previous is None:
                        continue  # ignored (or set outside Python): leave it so
                    cls._previous[signum] = previous
                    signal.signal(signum, cls._handler)
        try:
            yield
        finally:
            with cls._lock:
                cls._depth -= 1
                if cls._depth == 0:
                    for signum, previous in cls._previous.items():
                        signal.signal(signum, previous)
                    cls._previous = {}

    @classmethod
    def redeliver(cls, interrupted: BaseException) -> None:
        """Once the temporary files are gone, let the signal do what it would have done."""
        signum = interrupted.signum  # type: ignore[attr-defined]
        if cls._depth > 0:
            raise interrupted  # an outer batch has temporary files to remove too
        signal.raise_signal(signum)  # SIGINT: KeyboardInterrupt; SIGTERM: the process ends
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)


def remove_stale_temporaries(destinations: Iterable[str | Path]) -> list[Path]:
    """Remove the temporary files a killed writer left beside ``destinations``.

    Only a process killed outright (SIGKILL, a lost Dask worker, a power cut) leaves them:
    every other failure removes its own. Call it when no writer of these files can still
    be running (a batch, once all its tasks have ended).

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    removed = []
    for destination in destinations:
        destination = Path(destination)
        prefix = f".{destination.name[:200]}."
        with contextlib.suppress(OSError):
            for entry in os.scandir(destination.parent):
                if entry.name.startswith(prefix) and entry.name.endswith((".part", ".part.old")):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
    return removed


class OutputSet:
    """Files staged in temporary files, renamed in place together by `commit`.

    Made by `OutputGuard.batch`; see there.
    """

    def __init__(self, guard: OutputGuard) -> None:
        self._guard = guard
        self._staged: list[tuple[Path, Path]] = []  # (temporary, destination)
        self._destinations: set[Path] = set()
        #: The files renamed in place by the last `commit`.
        self.written: list[Path] = []

    @property
    def guard(self) -> OutputGuard:
        """The guard that checks the paths."""
        return self._guard

    @property
    def destinations(self) -> list[Path]:
        """The files staged so far, in order."""
        return [destination for _, destination in self._staged]

    def stage(self, path: str | Path, content: Content) -> Path:
        """Write ``content`` to a temporary file beside ``path``; return ``path``.

        Raises
        ------
        InputError
            When ``path`` is refused (an input, twice in the set, not a file) or the
            temporary file cannot be written (disk full, permission denied, ...).
        """
        destination = self._guard.check(path)
        key = destination.resolve()
        if key in self._destinations:
            raise InputError(destination, "two outputs would be written to the same file",
                             "give them different names")
        if not destination.parent.is_dir():
            raise InputError(destination.parent, "the folder does not exist",
                             "create it or choose another")
        try:
            handle, temporary = tempfile.mkstemp(
                dir=destination.parent, prefix=f".{destination.name[:200]}.", suffix=".part")
        except OSError as error:
            raise self._write_error(destination, error) from None
        self._staged.append((Path(temporary), destination))
        self._destinations.add(key)
        write = content if callable(content) else (lambda stream: stream.write(content))
        try:
            with os.fdopen(handle, "wb") as stream:
                write(stream)
            os.chmod(temporary, 0o644)
        except Exception as error:
            # Judged before the temporary file goes: a full disk has room again after.
            judged = None if isinstance(error, InputError) or _find_os_error(error) is None \
                else self._write_error(destination, error)
            self._remove(Path(temporary))
            if judged is None:
                raise
            raise judged from None
        return destination

    @staticmethod
    def _write_error(destination: Path, error: BaseException) -> InputError:
        reason = describe_os_error(error)
        found = _find_os_error(error)
        if found is not None and found.errno is None and _nearly_full(destination.parent):
            # numpy reports a short write ("N requested and M written") without an errno.
            reason = "the disk is full"
        remedy = {
            "the disk is full": "free some space or choose another --output_dir",
            "permission denied": "choose a folder you may write to, or fix its permissions",
            "the file name is too long": "choose a shorter --output_file or --output_dir",
        }.get(reason, "choose another path")
        return InputError(destination, f"cannot be written ({reason})", remedy)

    def _remove(self, temporary: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        self._staged = [(t, d) for t, d in self._staged if t != temporary]

    def commit(self) -> list[Path]:
        """Rename every staged file in place; on failure put everything back as it was."""
        renamed: list[tuple[Path, Path | None]] = []  # (destination, backup of the old file)
        try:
            for temporary, destination in self._staged:
                backup = None
                if destination.exists():
                    backup = temporary.with_name(temporary.name + ".old")
                    try:
                        os.link(destination, backup)
                    except OSError:
                        backup = None  # no hard links here: an old file cannot be restored
                os.replace(temporary, destination)
                renamed.append((destination, backup))
        except BaseException as error:
            for destination, backup in reversed(renamed):
                with contextlib.suppress(OSError):
                    if backup is not None:
                        os.replace(backup, destination)
                    else:
                        destination.unlink()
            self.abort()
            if isinstance(error, OSError):
                raise self._write_error(self._staged[0][1] if self._staged else Path("."),
                                        error) from None
            raise
        for _, backup in renamed:
            if backup is not None:
                with contextlib.suppress(OSError):
                    backup.unlink()
        self.written = self.destinations
        self._staged = []
        return self.written

    def abort(self) -> None:
        """Remove every staged temporary file; no destination is touched."""
        for temporary, _ in list(self._staged):
            with contextlib.suppress(OSError):
                temporary.unlink()
            with contextlib.suppress(OSError):
                temporary.with_name(temporary.name + ".old").unlink()
        self._staged = []


class OutputGuard:
    """Writes the tools' files: never onto an input, atomically, all or none.

    Parameters
    ----------
    inputs : iterable of path
        The files the run reads (exposures, associations, edits, parameter files): no
        output may be one of them, through any path or link.

    Examples
    --------
    >>> guard = OutputGuard([science, association])           # doctest: +SKIP
    >>> guard.write("pars.asdf", content)                       # doctest: +SKIP
    >>> with guard.batch() as outputs:                          # doctest: +SKIP
    ...     outputs.stage("a_badpix_selfcal.fits", write_a)
    ...     outputs.stage("b_badpix_selfcal.fits", write_b)
    ...     # renamed in place together when the block ends without an error
    """

    def __init__(self, inputs: Iterable[str | Path] = ()) -> None:
        self._resolved: dict[Path, Path] = {}
        self._inodes: dict[tuple[int, int], Path] = {}
        self.protect(*inputs)

    def protect(self, *paths: str | Path) -> None:
        """Add files that no output may replace."""
        for path in paths:
            path = Path(path)
            self._resolved[Path(os.path.realpath(path))] = path
            with contextlib.suppress(OSError):
                status = path.stat()
                self._inodes[(status.st_dev, status.st_ino)] = path

    @property
    def inputs(self) -> list[Path]:
        """The protected files, as given."""
        return list(self._resolved.values())

    def check(self, path: str | Path) -> Path:
        """Return ``path`` if a file may be written there; raise `InputError` if not.

        Refused: an input (same resolved path or same inode), and any existing path that
        is not a regular file (a folder, a FIFO, a device).
        """
        path = Path(path)
        limit = _name_max(path.parent)
        if len(os.fsencode(path.name)) > limit:
            raise InputError(
                path.parent / (path.name[:40] + "…"),
                f"the file name is {len(os.fsencode(path.name))} bytes long, more than the "
                f"{limit} the file system allows", "choose a shorter name (--output_file)")
        input_path = self._resolved.get(Path(os.path.realpath(path)))
        status = None
        try:
            status = path.stat()
        except FileNotFoundError:
            pass
        except OSError as error:
            raise InputError(path, f"cannot be examined ({describe_os_error(error)})",
                             "choose another path") from None
        if input_path is None and status is not None:
            input_path = self._inodes.get((status.st_dev, status.st_ino))
        if input_path is not None:
            same = "" if os.path.abspath(path) == os.path.abspath(input_path) \
                else f" ({input_path}, the same file through a link)"
            raise InputError(path, f"would overwrite an input file{same}",
                             "choose another output name or folder")
        if status is not None and _kind(status.st_mode) is not None:
            raise InputError(path, f"is {_kind(status.st_mode)}, not a file to write",
                             "choose another output name")
        return path

    @contextlib.contextmanager
    def batch(self) -> Iterator[OutputSet]:
        """Stage several files, then rename them all when the block ends without error.

        Yields
        ------
        OutputSet
            ``stage(path, content)`` writes one temporary file; nothing is renamed in place
            before the block ends. On an error (or SIGINT/SIGTERM) every temporary file is
            removed and the error goes on.
        """
        outputs = OutputSet(self)
        try:
            with _SignalCleanup.active():
                try:
                    yield outputs
                    outputs.commit()
                except BaseException:
                    outputs.abort()
                    raise
        except _SignalCleanup.Interrupted as interrupted:
            _SignalCleanup.redeliver(interrupted)

    def write(self, path: str | Path, content: Content) -> Path:
        """Write one file atomically; return its path.

        Parameters
        ----------
        path : str or pathlib.Path
            The destination; an existing output there is replaced once the new one is whole.
        content : bytes or callable
            The bytes, or a function that writes to the open (binary) file.

        Raises
        ------
        InputError
            When the path is refused or the file cannot be written; nothing is then left.
        """
        with self.batch() as outputs:
            outputs.stage(path, content)
        return Path(path)
