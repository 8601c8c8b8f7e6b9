"""The ``Mutation`` root: carriers keep their own offers current.

Every mutation goes through ``directory_core.editing`` and ``Directory`` (one write path
with the web pages, imports and the CLI): the one validator, history rows in the same
transaction, the outbox for the index. Checked in this order: a signed-in caller
(``UNAUTHENTICATED``), the right to write the offer's carrier (``FORBIDDEN`` naming it),
the version the caller saw (``CONFLICT`` with the current one), the input
(``BAD_USER_INPUT`` with the validator's field path). The version check and bump are
one atomic ``UPDATE ... WHERE version = :v`` (``Store.write_offers``), so of two editors
saving the same version exactly one wins. Nothing is ever deleted here: archiving sets a status.

The blocking work (store, geocoding, index) runs in a worker thread, so a long import
does not hold up other requests.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.tools import create_type
from strawberry.types import Info

from directory_core import editing, model
from directory_core.directory import Directory
from directory_core.history import VersionConflict
from directory_core.importers.base import SourceError
from directory_core.importing import ImportFailed, run_import
from directory_core.validation import OfferValidationError

from . import types as t
from .access import require_principal, require_writer
from .errors import Conflict, Forbidden, InputError, OfferInputError, check_offer_id
from .extra import ExtraTypes
from .offer_inputs import OfferInput, OfferPatch, apply_patch, new_offer


@strawberry.type(description="One record an import rejected, and why.")
class ImportRejection:
    location: str = strawberry.field(description="e.g. 'row 17'")
    field: str
    reason: str


@strawberry.type(description="What an import did (or, with dryRun, would do).")
class ImportResult:
    carrier: str
    importer: str
    dry_run: bool
    records: int
    created: int
    updated: int
    unchanged: int
    archived: int
    rejected: int = strawberry.field(description="Records rejected (each may have several).")
    rejections: list[ImportRejection]
    run_id: int | None = strawberry.field(description="The recorded run (not for dry runs).")


def _conflict(exc: VersionConflict) -> Conflict:
    return Conflict(
        f"The offer was changed meanwhile: it is at version {exc.current}, not "
        f"{exc.expected}; load it again and repeat your change",
        currentVersion=exc.current,
    )


def _api_errors(work: Callable[[], model.Offer]) -> Callable[[], model.Offer]:
    """``work`` with the write path's exceptions turned into API errors."""

    def run() -> model.Offer:
        try:
            return work()
        except editing.NotAllowed as exc:
            raise Forbidden(str(exc), carrier=exc.carrier) from None
        except editing.NoSuchOffer as exc:
            raise InputError("id", f"no offer with id {exc.args[0]!r}") from None
        except editing.WrongState as exc:
            raise InputError("id", str(exc)) from None
        except VersionConflict as exc:
            raise _conflict(exc) from None
        except OfferValidationError as exc:
            raise OfferInputError("input", [(e.field, e.message) for e in exc.errors]) from None

    return run


def mutation_type(extra: ExtraTypes) -> type:
    """The ``Mutation`` root for the directory's custom fields (``extra``): its offer
    inputs take ``extra`` when plugins declare fields, and it returns the same ``Offer``
    type as the queries (call after ``extra.query_type``)."""
    offer_type = extra.offer_type or t.Offer
    offer_input, offer_patch = OfferInput, OfferPatch
    if extra.input is not None:
        offer_input = _with_extra(OfferInput, extra.input)
        offer_patch = _with_extra(OfferPatch, extra.input)

    def node(info: Info, offer: model.Offer) -> Any:
        return t.offer_node(offer, info.context.directory, info.context.extra)

    def create_offer(info: Info, input: Any) -> Any:
        principal = require_principal(info)
        directory: Directory = info.context.directory
        offer = new_offer(input)
        work = _api_errors(lambda: editing.create(directory, principal, offer))
        return node(info, work())

    def update_offer(info: Info, id: strawberry.ID, version: int, input: Any) -> Any:
        principal = require_principal(info)
        directory: Directory = info.context.directory

        def apply(offer: model.Offer) -> None:
            nulls = apply_patch(offer, input)
            if nulls:
                raise OfferInputError("input", [(name, "must not be null") for name in nulls])

        offer_id = check_offer_id(id)
        work = _api_errors(lambda: editing.change(directory, principal, offer_id, version, apply))
        return node(info, work())

    def archive_offer(
        info: Info, id: strawberry.ID, version: int, reason: str | None = None
    ) -> Any:
        principal = require_principal(info)
        directory: Directory = info.context.directory
        if reason is not None and len(reason) > 1000:
            raise InputError("reason", f"must be at most 1000 characters, got {len(reason)}")
        offer_id = check_offer_id(id)
        work = _api_errors(
            lambda: editing.archive(directory, principal, offer_id, version, reason or "")
        )
        return node(info, work())

    def restore_offer(info: Info, id: strawberry.ID, version: int) -> Any:
        principal = require_principal(info)
        directory: Directory = info.context.directory
        offer_id = check_offer_id(id)
        work = _api_errors(lambda: editing.restore(directory, principal, offer_id, version))
        return node(info, work())

    def verify_offer(info: Info, id: strawberry.ID, version: int) -> Any:
        principal = require_principal(info)
        directory: Directory = info.context.directory
        offer_id = check_offer_id(id)
        work = _api_errors(lambda: editing.verify(directory, principal, offer_id, version))
        return node(info, work())

    def import_offers(
        info: Info,
        importer: str,
        file: Upload,
        dry_run: bool | None = False,
        full: bool | None = False,
        carrier: str | None = None,
    ) -> ImportResult:
        principal = require_principal(info)
        if carrier is None:
            if principal.role == "editor" and len(principal.carriers) == 1:
                [carrier] = principal.carriers
            else:
                raise InputError(
                    "carrier", "is required unless your token is for exactly one carrier"
                )
        require_writer(principal, carrier)
        directory: Directory = info.context.directory
        # resolvers run in the request's worker thread (http.py): read the spooled file
        data = file.file.read()
        limit = directory.instance.limits.max_upload_bytes
        if len(data) > limit:
            raise InputError("file", f"is larger than {limit} bytes (limits.max_upload_bytes)")
        name = Path(getattr(file, "filename", None) or "upload").name or "upload"

        def work() -> ImportResult:
            with tempfile.TemporaryDirectory(prefix="directory-upload-") as folder:
                source = Path(folder) / name
                source.write_bytes(data)
                try:
                    report = run_import(
                        directory,
                        carrier,
                        importer,
                        str(source),
                        full=bool(full),
                        dry_run=bool(dry_run),
                        user=principal.name,
                    )
                except ImportFailed as exc:
                    raise InputError("importer", str(exc)) from None
                except SourceError as exc:
                    raise InputError("file", str(exc).replace(str(source), name)) from None
            counts = report.counts()
            return ImportResult(
                carrier=carrier,
                importer=importer,
                dry_run=bool(dry_run),
                records=report.records,
                rejections=[
                    ImportRejection(location=r.location, field=r.field, reason=r.reason)
                    for r in report.rejected
                ],
                run_id=report.run_id,
                **counts,
            )

        return work()

    annotate(create_offer, input=offer_input, returns=offer_type)
    annotate(update_offer, input=offer_patch, returns=offer_type)
    annotate(archive_offer, returns=offer_type)
    annotate(restore_offer, returns=offer_type)
    annotate(verify_offer, returns=offer_type)
    fields = [
        strawberry.mutation(
            resolver=create_offer,
            name="createOffer",
            description="Create an offer of a carrier you may write; it starts at version 1.",
        ),
        strawberry.mutation(
            resolver=update_offer,
            name="updateOffer",
            description="Change the fields given in input (only those) of the offer at version.",
        ),
        strawberry.mutation(
            resolver=archive_offer,
            name="archiveOffer",
            description="Archive the offer (never deleted): it leaves the search results.",
        ),
        strawberry.mutation(
            resolver=restore_offer,
            name="restoreOffer",
            description="Make an archived offer active again.",
        ),
        strawberry.mutation(
            resolver=verify_offer,
            name="verifyOffer",
            description="Confirm the offer is current: sets verifiedAt to now and verifiedBy.",
        ),
        strawberry.mutation(
            resolver=import_offers,
            name="importOffers",
            description=(
                "Run an importer on an uploaded file (GraphQL multipart request) for a "
                "carrier (default: your token's only carrier); the same runner and report "
                "as `directory import`."
            ),
        ),
    ]
    return create_type("Mutation", fields)


def annotate(resolver: Callable, returns: Any, **arguments: Any) -> None:
    """Set the GraphQL types of a resolver that depend on the instance's plugins."""
    resolver.__annotations__ = {
        **{k: v for k, v in resolver.__annotations__.items() if k != "return"},
        **arguments,
        "return": returns,
    }


def _with_extra(base: type, extra_input: type) -> type:
    """``base`` (an input type) with a typed ``extra`` field."""
    import types as pytypes

    from strawberry.types.base import get_object_definition

    namespace = {
        "__annotations__": {"extra": extra_input | None},
        "extra": strawberry.field(
            default=strawberry.UNSET, description="Custom fields of plugins to set."
        ),
    }
    cls = pytypes.new_class(base.__name__, (base,), {}, lambda ns: ns.update(namespace))
    return strawberry.input(
        cls, name=base.__name__, description=get_object_definition(base).description
    )
