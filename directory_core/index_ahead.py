"""Index a large import's offers in a second process while the store writes them.

An import spends about a third of its time writing the store and another third indexing
(building the documents, then FTS5, R*Tree and the other index tables). The two can run
at the same time on two cores: just before the store's transaction begins, the import
forks a child process that builds the documents of the offers about to be written and
writes them into the search index in one transaction it holds open
(``SearchBackend.index_held``). The child commits only after the parent has told it that
the store committed, so a search never finds an offer the store does not have; when the
store's write fails the child is ended, when the parent dies it ends too, and neither
leaves anything of its transaction. After the child's commit the usual sync moves the
index's position past the import without indexing those offers again
(``sync_index(indexed=...)``); when the child failed, that sync indexes them as it
always did. The import holds the index's sync lock (``Store.sync_lock``, between
processes) from before the fork until that sync is done, so no other process writes
an older document in between. Either way the index ends as after the sequential path.

It is used only where that holds and pays off (``usable``):

* the primary backend can write ahead from another process (``SearchBackend.reopen``:
  the embedded index in a file; Elasticsearch has no transaction to hold open);
* the store is SQLite, in a file other than the index's (one write lock per file): its
  import holds the store's only write lock for the whole transaction anyway, so other
  processes' writes wait for it already (their index syncs now wait up to 10 s for the
  sync lock and then leave their changes to the next sync; on PostgreSQL other
  processes keep writing during an import, and their syncs would wait for the index);
* the process runs a single thread: ``fork`` copies only the calling thread, so a
  process with others (the server) keeps the sequential path; the command line and
  the benchmark have one;
* at least ``MIN_OFFERS`` offers: below that the sequential path takes a tenth of a
  second, and forking a large process costs milliseconds.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, suppress
from multiprocessing.connection import Connection
from types import TracebackType
from typing import TYPE_CHECKING

from directory_search.backends import store_file
from directory_search.base import SearchBackend, SearchDocument

from .model import Offer
from .sync import SYNC_LOCK_SECONDS

if TYPE_CHECKING:  # pragma: no cover
    from .directory import Directory

log = logging.getLogger(__name__)

MIN_OFFERS = 1000
# documents built and written at a time by the child (bounds the documents it holds)
BATCH = 25000
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def usable(directory: Directory, count: int) -> bool:
    """Whether an import of ``count`` offers indexes ahead (see the module docstring)."""
    return (
        count >= MIN_OFFERS
        and hasattr(os, "fork")
        and threading.active_count() == 1
        and not directory.store.is_postgresql
        and directory.search_backend.can_reopen()
        and not _in_the_stores_file(directory)
    )


def _in_the_stores_file(directory: Directory) -> bool:
    """An index kept in the store's own file (``search.path`` naming it): one write lock
    for both, so the child would wait for the store's write and the store for it."""
    database = store_file(directory.store)
    path = getattr(directory.search_backend, "path", None)
    if database is None or not path:
        return False
    return os.path.realpath(database) == os.path.realpath(path)


class IndexAhead:
    """Around the store's write of ``offers``: ``with IndexAhead(...) as ahead:`` takes
    the index's sync lock and starts the child (when ``usable``);
    ``ahead.store_committed()`` after the store's commit lets it commit, and sets
    ``indexed``: the ids whose documents the index has (empty when the child did not
    run or failed). The caller syncs inside the block with ``indexed``; leaving the
    block without ``store_committed`` ends the child, which leaves nothing behind."""

    def __init__(
        self,
        directory: Directory,
        offers: Sequence[Offer],
        build: Callable[[Offer], SearchDocument],
    ):
        self.indexed: frozenset[str] = frozenset()
        self._offers = offers
        self._build = build
        self._backend = directory.search_backend
        self._store = directory.store
        self._sync_name = directory.sync_name
        self._active = usable(directory, len(offers))
        self._held = ExitStack()
        self._pipe: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._told = False

    def __enter__(self) -> IndexAhead:
        if not self._active:
            return self
        # no other process syncs this index until the import's own sync has run (the
        # caller syncs inside the block): one that read an offer before the import could
        # otherwise write its older document after the child's, which the import's sync
        # then would not replace
        try:
            self._held.enter_context(
                self._store.sync_lock(self._sync_name, timeout=SYNC_LOCK_SECONDS)
            )
        except TimeoutError as exc:
            log.info("import indexes after the store's commit: %s", exc)
            return self
        try:
            context = multiprocessing.get_context("fork")
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_index_in_child,
                args=(theirs, ours, self._backend, self._build, self._offers, os.getpid()),
                name="directory-index-ahead",
                daemon=True,  # ended with this process if it exits without waiting
            )
            process.start()
        except OSError as exc:  # no memory, processes or descriptors left
            log.warning("import indexes after the store's commit: cannot fork (%s)", exc)
            self._held.close()
            return self
        theirs.close()  # the child's end: only the child holds it, so its death is EOF here
        self._pipe, self._process = ours, process
        return self

    def store_committed(self) -> None:
        """The store committed the offers: the child commits its index transaction;
        waits for its answer and sets ``indexed`` when it committed."""
        if self._pipe is None:
            return
        self._told = True
        with suppress(OSError):  # a child that failed before has closed its end
            self._pipe.send("commit")
        answer = self._answer()
        if answer == "committed":
            self.indexed = frozenset(offer.id for offer in self._offers)
        else:
            log.warning(
                "indexing ahead of the store's commit failed (%s); the offers are "
                "indexed now instead",
                answer,
            )

    def _answer(self) -> str:
        """The child's last word: ``committed`` or why not."""
        assert self._pipe is not None
        while True:
            try:
                kind, value = self._pipe.recv()
            except (EOFError, OSError):
                return "the indexing process ended without an answer"
            if kind == "written":
                continue
            return "committed" if kind == "committed" else str(value)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._pipe is not None and self._process is not None:
                if not self._told:
                    # the store did not commit: neither may the child; a process ended in
                    # a write transaction leaves nothing of it (SQLite rolls it back)
                    self._process.terminate()
                self._pipe.close()
                self._process.join(timeout=60)
                if self._process.exitcode is None:  # pragma: no cover - a stuck child
                    self._process.kill()
                    self._process.join()
                self._process.close()
        finally:
            self._pipe = self._process = None
            self._held.close()


class _Abandoned(Exception):
    """The parent's answer was not "commit": the child's index transaction rolls back."""


def _index_in_child(
    pipe: Connection,
    parents_end: Connection,
    backend: SearchBackend,
    build: Callable[[Offer], SearchDocument],
    offers: Sequence[Offer],
    parent: int,
) -> None:
    """The child: write the documents, hold the transaction, commit or roll back as the
    parent says. Never touches the parent's connections (copied by ``fork``, not
    usable here): the index is opened anew and the store not at all."""
    parents_end.close()  # copied by fork: only the parent may hold it (its death is EOF)
    # it ends with its parent: SQLite's bookkeeping of the file's locks was copied from
    # the parent, so without it this process's hold on the index is not all its own
    _die_with(parent)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # ended at once, whatever the parent set
    gc.freeze()  # the parent's objects: never walked (nor copied) by this process's GC
    try:
        own = backend.reopen()
        try:
            own.verify()  # a lost or outdated index: the parent's sync repairs it
            parents_word = _ParentsWord(pipe)
            with own.index_held(_batches(parents_word, build, offers)) as count:
                pipe.send(("written", count))
                if parents_word.wait() != "commit":
                    raise _Abandoned
            pipe.send(("committed", count))
        finally:
            own.close()
    except _Abandoned:
        with suppress(OSError):
            pipe.send(("rolled back", "the store did not commit"))
    except BaseException as exc:  # the parent indexes them itself; say why
        with suppress(OSError):
            pipe.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()


class _ParentsWord:
    """What the parent said over the pipe: ``commit`` (possibly before the child has
    written everything), or nothing and then its end closed (it died or gave up)."""

    def __init__(self, pipe: Connection):
        self._pipe = pipe
        self._word: str | None = None

    def check(self) -> None:
        """Between batches: ``_Abandoned`` when the parent's end closed (or it said
        anything but ``commit``), without waiting."""
        if self._word is None and self._pipe.poll():
            self.wait()
        if self._word not in (None, "commit"):
            raise _Abandoned

    def wait(self) -> str:
        if self._word is None:
            try:
                self._word = str(self._pipe.recv())
            except (EOFError, OSError):
                self._word = "gone"
        return self._word


def _batches(
    parents_word: _ParentsWord,
    build: Callable[[Offer], SearchDocument],
    offers: Sequence[Offer],
) -> Iterator[list[SearchDocument]]:
    """The documents, ``BATCH`` at a time; stops (``_Abandoned``) as soon as the parent
    is gone, instead of writing the rest for nobody."""
    for start in range(0, len(offers), BATCH):
        parents_word.check()
        yield [build(offer) for offer in offers[start : start + BATCH]]


def _die_with(parent: int) -> None:
    """Ask Linux to end this process when its parent ends (``PR_SET_PDEATHSIG``); also
    when the parent is gone already. Elsewhere only the pipe's end tells."""
    if sys.platform.startswith("linux"):
        with suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
