"""The directory's health report (``/healthz``, ``directory health``): the store and
every search backend asked in threads of their own, within a deadline. Split from
``directory.py``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from directory_search.base import SearchBackend

if TYPE_CHECKING:
    from .directory import Directory


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (driver errors add SQL and links below)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _within(directory: Directory, seconds: float, call: Callable[[], Any]) -> Any:
    """``call()`` in a thread of the health pool; ``TimeoutError`` after ``seconds``
    (the call goes on in its thread; the pool is small, so hung calls cannot pile up
    without bound: later ones then time out waiting for a thread)."""
    if directory._health_pool is None:
        directory._health_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="health")
    future = directory._health_pool.submit(call)
    try:
        return future.result(timeout=max(seconds, 0.0))
    except FutureTimeout:
        future.cancel()
        raise TimeoutError(f"did not answer within {seconds:g} s") from None


def _store_report(directory: Directory) -> dict[str, Any]:
    return {
        "ok": True,
        "dialect": directory.store.engine.dialect.name,
        "revision": directory.store.schema_revision(),
        "offers": directory.store.count_offers(),
        "lags": directory.sync_lags(),
    }


def health_report(directory: Directory) -> dict[str, Any]:
    """The ``/healthz`` report of ``directory``. ``sync_lag`` is the primary's; ``search`` and
    ``fallback`` carry their own ``lag``. With a working fallback the directory
    still answers searches while the primary is down: ``ok`` stays true and
    ``degraded`` says so.

    Every backend is asked in a thread of its own and given
    ``search.health_timeout_seconds``; one that does not answer in time is reported
    as not ok, so the report comes within about that time whatever the backends do.
    An index whose document count differs from the store's offers although it has
    caught up with the outbox (lag 0) is not ok either: it was lost or replaced."""
    limit = directory.instance.search.health_timeout_seconds
    deadline = time.monotonic() + limit
    status: dict[str, Any] = {"instance": directory.instance.key, "ok": True}
    pool = directory._health_pool or ThreadPoolExecutor(max_workers=6, thread_name_prefix="health")
    directory._health_pool = pool
    store_future = pool.submit(functools.partial(_store_report, directory))
    backend_futures = [
        (role, backend, pool.submit(backend.health)) for role, backend, _ in directory._backends()
    ]
    lags: dict[str, int] = {}
    try:
        store = store_future.result(timeout=max(deadline - time.monotonic(), 0.0))
    except FutureTimeout:
        store = {"ok": False, "error": f"did not answer within {limit:g} s"}
    except Exception as exc:  # health must report, not raise
        store = {"ok": False, "error": one_line(exc)}
    if store["ok"]:
        lags = store.pop("lags")
        status["sync_lag"] = lags["primary"]
    else:
        status["ok"] = False
    status["store"] = store
    working = {}
    for role, backend, future in backend_futures:
        key = "search" if role == "primary" else "fallback"
        try:
            report = {
                "ok": True,
                **future.result(timeout=max(deadline - time.monotonic(), 0.0)),
            }
        except FutureTimeout:
            report = {
                "ok": False,
                "backend": backend.name,
                "error": f"did not answer within {limit:g} s",
            }
        except Exception as exc:
            report = {"ok": False, "backend": backend.name, "error": one_line(exc)}
        if role in lags:
            report["lag"] = lags[role]
            mismatch = _count_mismatch(directory, role, report, store, lags, backend, deadline)
            if mismatch:
                report["ok"] = False
                report["error"] = mismatch
        status[key] = report
        working[role] = report["ok"]
    if not working["primary"]:
        if working.get("fallback"):
            status["degraded"] = True
        else:
            status["ok"] = False
    return status


def _count_mismatch(
    directory: Directory,
    role: str,
    report: dict[str, Any],
    store: dict[str, Any],
    lags: dict[str, int],
    backend: SearchBackend,
    deadline: float,
) -> str | None:
    """A message when an index that has caught up (lag 0) holds another number of
    documents than the store holds offers; asked twice, so that a write between the
    two counts is not taken for a lost index."""
    if not report["ok"] or lags[role] != 0 or report.get("documents") == store.get("offers"):
        return None

    def again() -> tuple[int, int, int]:
        return directory.store.count_offers(), directory.sync_lags()[role], backend.count()

    try:
        offers, lag, documents = _within(directory, deadline - time.monotonic(), again)
    except Exception:  # noqa: BLE001 - no second look in time: no verdict
        return None
    if documents == offers or lag != 0:
        return None
    return (
        f"the index holds {documents} documents but the store {offers} offers although "
        "it has caught up: it was lost or replaced; run 'directory reindex'"
    )
