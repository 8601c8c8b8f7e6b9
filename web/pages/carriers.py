"""The carrier area at ``/carriers``: carrier staff sign in with their token, see their
offers with stale marks, edit one (the validator's errors next to the fields), verify it
with one click, upload a file to an importer and see the accepted and rejected rows, and
sign out.

Writes go through ``directory_core.editing`` and the import runner, as the GraphQL
mutations do; sessions and CSRF tokens are ``carrier_session.py``. Pages are private
(``Cache-Control: no-store``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directory_core import editing
from directory_core.auth import AuthenticationError
from directory_core.history import VersionConflict
from directory_core.importers.base import SourceError
from directory_core.importing import ImportFailed, run_import
from directory_core.model import Address, Contact, Offer
from directory_core.staleness import DEFAULT_DAYS, is_stale
from directory_core.validation import OfferValidationError

from .. import carrier_session as cs
from ..app import Site
from ..i18n import N_, pick_language

# form field -> (validator field path, how the offer holds it)
EDIT_FIELDS = {
    "title": "title",
    "description": "description",
    "street": "address.street",
    "postcode": "address.postcode",
    "city": "address.city",
    "phone": "contact.phone",
    "email": "contact.email",
    "website": "contact.website",
    "internal_note": "internal_note",
}
FIELD_OF = {path: name for name, path in EDIT_FIELDS.items()} | {"address": "street"}
LABELS = {
    "title": N_("Title"),
    "description": N_("Description"),
    "street": N_("Street and number"),
    "postcode": N_("Postcode"),
    "city": N_("City"),
    "phone": N_("Phone"),
    "email": N_("E-mail"),
    "website": N_("Website"),
    "internal_note": N_("Internal note (staff only)"),
}


@dataclass
class EditForm:
    """The edit form's values and the problems found, by form field."""

    values: dict[str, str]
    version: int
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, offer: Offer) -> EditForm:
        return cls(
            {
                "title": offer.title,
                "description": offer.description,
                "street": offer.address.street,
                "postcode": offer.address.postcode,
                "city": offer.address.city,
                "phone": offer.contact.phone,
                "email": offer.contact.email,
                "website": offer.contact.website,
                "internal_note": offer.internal_note,
            },
            offer.version,
        )

    def apply(self, offer: Offer) -> None:
        """Put the form's values on ``offer``; a changed address is geocoded again."""
        v = self.values
        address = Address(v["street"], v["postcode"], v["city"])
        if address != offer.address:
            offer.address, offer.location = address, None
        offer.title, offer.description = v["title"], v["description"]
        offer.contact = Contact(v["phone"], v["email"], v["website"])
        offer.internal_note = v["internal_note"]


def routes(site: Site) -> list[Route]:
    """The pages of the carrier area."""
    directory = site.directory

    def page(request: Request, template: str, status_code: int = 200, **context: Any):
        lang = pick_language(request)
        return site.renderer.page(
            request,
            f"carriers/{template}",
            lang,
            private=True,
            status_code=status_code,
            **context,
        )

    async def session_of(request: Request) -> cs.CarrierSession | None:
        return await anyio.to_thread.run_sync(cs.current, directory, request)

    def to_sign_in() -> Response:
        return RedirectResponse("/carriers/sign-in", status_code=303)

    async def checked_form(request: Request) -> tuple[cs.CarrierSession | None, Any]:
        """The session and the posted form, if its CSRF token matches (a form is read
        only for a signed-in caller, up to ``limits.max_upload_bytes``)."""
        session = await session_of(request)
        if session is None:
            return None, None
        limit = directory.instance.limits.max_upload_bytes
        form = await request.form(max_part_size=limit)
        if session is None or not cs.same(form.get("csrf"), session.csrf):
            return None, form
        return session, form

    async def sign_in_page(request: Request) -> Response:
        if request.method == "GET":
            csrf = cs.sign_in_csrf(request)
            response = page(request, "sign_in.html", csrf=csrf, error=None)
            cs.set_cookie(response, request, cs.SIGN_IN_CSRF_COOKIE, csrf)
            return response
        form = await request.form()
        csrf = request.cookies.get(cs.SIGN_IN_CSRF_COOKIE)
        if not cs.same(form.get("csrf"), csrf):
            return page(
                request,
                "sign_in.html",
                status_code=400,
                csrf=cs.sign_in_csrf(request),
                error=N_("The form has expired. Please sign in again."),
            )
        token = str(form.get("token") or "").strip()
        try:
            session, cookie = await anyio.to_thread.run_sync(cs.sign_in, directory, token)
        except AuthenticationError:
            return page(
                request,
                "sign_in.html",
                status_code=401,
                csrf=csrf,
                error=N_("This access token is not valid (wrong, expired or revoked)."),
            )
        if not session.principal.writes:
            return page(
                request,
                "sign_in.html",
                status_code=403,
                csrf=csrf,
                error=N_("This access token may not change offers."),
            )
        response = RedirectResponse("/carriers", status_code=303)
        cs.set_cookie(response, request, cs.SESSION_COOKIE, cookie, max_age=cs.MAX_AGE)
        response.delete_cookie(cs.SIGN_IN_CSRF_COOKIE, path=cs.COOKIE_PATH)
        return response

    async def sign_out(request: Request) -> Response:
        session, _form = await checked_form(request)
        if session is None:
            return Response("CSRF check failed", status_code=403)
        response = to_sign_in()
        response.delete_cookie(cs.SESSION_COOKIE, path=cs.COOKIE_PATH)
        return response

    async def overview(request: Request) -> Response:
        session = await session_of(request)
        if session is None:
            return to_sign_in()
        offers = await anyio.to_thread.run_sync(editing.offers_for, directory, session.principal)
        rows = [(offer, offer.status == "active" and is_stale(offer)) for offer in offers]
        return page(
            request,
            "offers.html",
            session=session,
            rows=rows,
            days=DEFAULT_DAYS,
            stale=sum(1 for _, stale in rows if stale),
            done=request.query_params.get("done"),
        )

    async def edit(request: Request) -> Response:
        offer_id = request.path_params["offer_id"]
        if request.method == "GET":
            session = await session_of(request)
            if session is None:
                return to_sign_in()
            offer = await anyio.to_thread.run_sync(directory.get, offer_id)
            if offer is None or not session.principal.may_write(offer.carrier):
                return page(request, "forbidden.html", status_code=404, session=session)
            return page(
                request,
                "edit.html",
                session=session,
                offer=offer,
                form=EditForm.of(offer),
                labels=LABELS,
            )
        session, posted = await checked_form(request)
        if session is None:
            return Response("CSRF check failed", status_code=403)
        values = {name: str(posted.get(name) or "") for name in EDIT_FIELDS}
        try:
            version = int(str(posted.get("version")))
        except ValueError:
            return Response("bad version", status_code=400)
        form = EditForm(values, version)

        def save() -> Offer:
            return editing.change(directory, session.principal, offer_id, version, form.apply)

        try:
            await anyio.to_thread.run_sync(save)
        except (editing.NotAllowed, editing.NoSuchOffer):
            return page(request, "forbidden.html", status_code=404, session=session)
        except VersionConflict:
            form.general.append(
                N_("Someone else changed this offer meanwhile. Reload it and repeat your change.")
            )
        except OfferValidationError as exc:
            for error in exc.errors:
                name = FIELD_OF.get(error.field)
                if name is None:
                    form.general.append(f"{error.field}: {error.message}")
                else:
                    form.errors.setdefault(name, error.message)
        else:
            return RedirectResponse("/carriers?done=saved", status_code=303)
        offer = await anyio.to_thread.run_sync(directory.get, offer_id)
        return page(
            request,
            "edit.html",
            status_code=400,
            session=session,
            offer=offer,
            form=form,
            labels=LABELS,
        )

    async def verify(request: Request) -> Response:
        session, posted = await checked_form(request)
        if session is None:
            return Response("CSRF check failed", status_code=403)
        offer_id = request.path_params["offer_id"]
        try:
            version = int(str(posted.get("version")))
            await anyio.to_thread.run_sync(
                editing.verify, directory, session.principal, offer_id, version
            )
        except (ValueError, editing.NotAllowed, editing.NoSuchOffer):
            return page(request, "forbidden.html", status_code=404, session=session)
        except VersionConflict:
            return RedirectResponse("/carriers?done=conflict", status_code=303)
        return RedirectResponse("/carriers?done=verified", status_code=303)

    async def upload(request: Request) -> Response:
        importers = sorted(directory.registry.importers)
        if request.method == "GET":
            session = await session_of(request)
            if session is None:
                return to_sign_in()
            return page(
                request,
                "upload.html",
                session=session,
                importers=importers,
                carriers=_carriers(directory, session),
                report=None,
                error=None,
                problem=None,
                filename=None,
                chosen=("", "csv"),
            )
        session, posted = await checked_form(request)
        if session is None:
            return Response("CSRF check failed", status_code=403)
        carrier = str(posted.get("carrier") or "")
        importer = str(posted.get("importer") or "")
        upload_file = posted.get("file")
        context = {
            "session": session,
            "importers": importers,
            "carriers": _carriers(directory, session),
            "report": None,
            "error": None,
            "problem": None,
            "filename": None,
            "chosen": (carrier, importer),
        }
        if not session.principal.may_write(carrier):
            return page(request, "forbidden.html", status_code=403, session=session)
        if upload_file is None or not hasattr(upload_file, "read"):
            context["error"] = N_("Choose a file to upload.")
            return page(request, "upload.html", status_code=400, **context)
        data = await upload_file.read()
        name = Path(upload_file.filename or "upload").name or "upload"
        dry_run = posted.get("dry_run") == "on"

        def work():
            with tempfile.TemporaryDirectory(prefix="directory-upload-") as folder:
                source = Path(folder) / name
                source.write_bytes(data)
                try:
                    return run_import(
                        directory,
                        carrier,
                        importer,
                        str(source),
                        dry_run=dry_run,
                        user=session.principal.name,
                    ), None
                except (ImportFailed, SourceError) as exc:
                    return None, str(exc).replace(str(source), name)

        report, problem = await anyio.to_thread.run_sync(work)
        context.update(report=report, problem=problem, filename=name)
        return page(request, "upload.html", status_code=200 if report else 400, **context)

    return [
        Route("/carriers", overview, methods=["GET"]),
        Route("/carriers/sign-in", sign_in_page, methods=["GET", "POST"]),
        Route("/carriers/sign-out", sign_out, methods=["POST"]),
        Route("/carriers/offers/{offer_id}", edit, methods=["GET", "POST"]),
        Route("/carriers/offers/{offer_id}/verify", verify, methods=["POST"]),
        Route("/carriers/upload", upload, methods=["GET", "POST"]),
    ]


def _carriers(directory: Any, session: cs.CarrierSession) -> list[Any]:
    """The carriers the signed-in principal may import for."""
    return [c for c in directory.carriers if session.principal.may_write(c.key)]
