"""Column mapping: one flat row (column name → cell) becomes one ``ImportRecord``.

The CSV, XLSX and JSON importers and the carrier plugins share it. Which column holds
which offer field is configured in the instance file (or built into a carrier's
importer); by default a field is read from the column of the same name::

    [importers.csv.columns]          # offer field = column name
    external_id = "Nr"
    title = "Angebot"
    "extra.awo.transport_service" = "Fahrdienst"
    [importers.csv.values.kind]      # cell text = value, per field
    "Demenzgruppe" = "dementia_group"
    [importers.csv.defaults]         # value for a missing column or an empty cell
    city = "Dortmund"

The fields are listed in ``FIELDS``. Cells may be text, numbers, booleans or dates (as
spreadsheets give them). Every problem becomes a ``FieldError`` naming the field and the
column: ``FieldError("postcode", "column 'PLZ': must be five digits, got '4426'")``.

Over 500 lines on purpose: ``FIELDS`` and the ``_SETTERS`` table that turns each
field's cells into the offer are one list read side by side (a field added to one needs
its line in the other); the cell converters they share live in ``cells.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..custom_fields import CustomField
from ..languages import ISO_639_1, LANGUAGE_LABELS
from ..model import KIND_LABELS, Location, Offer, Precision
from ..validation import CHANNELS, KINDS, STATUSES, FieldError
from .base import ImportRecord, SourceError
from .cells import (
    is_blank,
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_email,
    to_float,
    to_integer,
    to_list,
    to_phone,
    to_postcode,
    to_schedule,
    to_text,
    to_website,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..directory import Directory

#: The offer fields a column can be mapped to (besides ``extra.PLUGIN.FIELD``).
FIELDS: dict[str, str] = {
    "external_id": "the carrier's own id of the offer (required)",
    "title": "title (required)",
    "kind": "kind: service, association, dementia_group, ... or the German label (required)",
    "description": "description",
    "categories": "category keys or labels, separated by ';' or ','",
    "district": "district key or name (set by hand instead of derived from the address)",
    "street": "street and number",
    "postcode": "five-digit postcode",
    "city": "city",
    "lat": "latitude (with lon: the location is taken as given, precision manual)",
    "lon": "longitude",
    "phone": "phone number",
    "email": "e-mail address",
    "website": "http(s) address",
    "channels": "in_person, phone, online, home_visit (or vor Ort, Telefon, Hausbesuch)",
    "languages": "ISO 639-1 codes or German names (Deutsch; Türkisch)",
    "schedule": "times as text: 'Di 14-16 Uhr; jeden 2. Mi 10-12'",
    "schedule_note": "note on the times",
    "valid_from": "first day (31.12.2026 or 2026-12-31)",
    "valid_until": "last day",
    "wheelchair": "wheelchair accessible (ja/nein)",
    "hearing_loop": "hearing loop (ja/nein)",
    "easy_language": "easy language (ja/nein)",
    "accessibility_note": "note on accessibility",
    "cost": "costs as one text: empty or 'kostenlos' is free, anything else is the cost note",
    "free_of_charge": "free of charge (ja/nein)",
    "cost_note": "note on costs",
    "target_groups": "target groups, separated by ';' or ','",
    "verified_at": "date (and time) the entry was last checked",
    "status": "active or archived (aktiv, archiviert)",
}
REQUIRED_FIELDS = ("external_id", "title", "kind")
#: Header names (normalised: ``_normal``) of a per-row carrier. An import belongs to the
#: one carrier named on the command line; a city-wide list with a carrier per row would
#: need the write path's permission rules (which carrier may write which offers), which
#: do not exist yet, so such a column is refused rather than silently ignored.
CARRIER_COLUMNS = frozenset({"träger", "traeger", "trager", "carrier", "anbieter"})
MAPPING_SETTINGS = ("columns", "values", "defaults", "optional_columns")

FREE_WORDS = frozenset({"kostenlos", "kostenfrei", "gratis", "frei", "free", "0", "0 €", "0,00 €"})
CHANNEL_WORDS = {
    "vor ort": "in_person",
    "persönlich": "in_person",
    "telefon": "phone",
    "telefonisch": "phone",
    "online": "online",
    "hausbesuch": "home_visit",
    "hausbesuche": "home_visit",
}
STATUS_WORDS = {"aktiv": "active", "archiviert": "archived"}


class ColumnMapping:
    """Which column holds which offer field, and how cells become field values.

    :param directory: the directory imported into (categories, districts, custom fields).
    :param columns: offer field → column name; fields not listed are read from a column
        of their own name if there is one.
    :param values: per field, cell text → value (``{"kind": {"Demenzgruppe":
        "dementia_group"}}``); for list fields per item.
    :param defaults: per field, the cell to use when the column is missing or empty.
    :param optional: fields of ``columns`` whose column may be missing from a file.
    :param noun: how reports call a column (``"column"``; ``"key"`` for JSON).
    :param where: the instance-file table of the settings, for errors (``"importers.csv"``).

    Columns named in ``columns`` must be in the file (``bind``): a missing one would
    otherwise silently blank that field of every offer on the next import.
    """

    def __init__(
        self,
        directory: Directory,
        *,
        columns: Mapping[str, str] | None = None,
        values: Mapping[str, Mapping[str, Any]] | None = None,
        defaults: Mapping[str, Any] | None = None,
        optional: Iterable[str] = (),
        noun: str = "column",
        where: str = "importers",
    ):
        self.directory = directory
        self.noun = noun
        self.where = where
        self.custom_fields: dict[str, CustomField] = {
            f"extra.{spec.path}": spec for spec in directory.custom_fields
        }
        known = [*FIELDS, *sorted(self.custom_fields)]
        columns = dict(columns or {})
        for label, table in (("columns", columns), ("values", values or {})):
            unknown = sorted(set(table) - set(known))
            if unknown:
                raise SourceError(
                    f"[{where}.{label}]: unknown field(s) {', '.join(unknown)}; fields: "
                    f"{', '.join(FIELDS)}"
                    + (f", {', '.join(sorted(self.custom_fields))}" if self.custom_fields else "")
                    + " (custom fields: extra.PLUGIN.FIELD of an enabled plugin)"
                )
        for name, column in columns.items():
            if not isinstance(column, str) or not column.strip():
                raise SourceError(
                    f"[{where}.columns] {name}: must be a column name, got {column!r}"
                )
        self.explicit = columns
        self.columns = {field: field for field in known} | columns
        self.values = {
            field: {_normal(k): v for k, v in table.items()}
            for field, table in (values or {}).items()
        }
        self.defaults = dict(defaults or {})
        unknown_defaults = sorted(set(self.defaults) - set(known))
        if unknown_defaults:
            raise SourceError(f"[{where}.defaults]: unknown field(s) {', '.join(unknown_defaults)}")
        self.optional = set(optional)
        self.present: dict[str, str] = {}  # field -> the header cell it is read from
        self.positions: dict[str, int] = {}  # field -> position of that cell in a row
        self._kinds = {k.casefold(): k for k in KINDS} | {
            label.casefold(): key for key, label in KIND_LABELS.items()
        }
        taxonomy = directory.taxonomy
        self._categories = {c.key.casefold(): c.key for c in taxonomy} | {
            c.label.casefold(): c.key for c in taxonomy
        }
        self._districts = {d.key.casefold(): d.key for d in directory.districts} | {
            d.name.casefold(): d.key for d in directory.districts
        }
        self._languages = {code: code for code in ISO_639_1} | {
            label.casefold(): code for code, label in LANGUAGE_LABELS.items()
        }
        # field -> (offer, cell) -> None: ``_mapped`` then ``_set``, looked up once
        self._assigners: dict[str, Callable[[Offer, Any], None]] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Any],
        directory: Directory,
        *,
        columns: Mapping[str, str] | None = None,
        values: Mapping[str, Mapping[str, Any]] | None = None,
        noun: str = "column",
        where: str = "importers",
        other_settings: Iterable[str] = (),
    ) -> ColumnMapping:
        """The mapping of an importer's settings (``columns``, ``values``, ``defaults``,
        ``optional_columns``) on top of its built-in ``columns`` and ``values``.

        ``other_settings`` are the importer's own keys (``delimiter``, ``sheet``); any
        other key is a ``SourceError``, so a misspelt setting is never silently ignored.
        """
        allowed = {*MAPPING_SETTINGS, *other_settings}
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise SourceError(
                f"[{where}]: unknown setting(s) {', '.join(unknown)}; settings: "
                f"{', '.join(sorted(allowed))}"
            )
        tables = {}
        for key in ("columns", "values", "defaults"):
            table = settings.get(key, {})
            if not isinstance(table, Mapping):
                raise SourceError(f"[{where}.{key}]: must be a table, got {table!r}")
            tables[key] = table
        merged_values = {k: dict(v) for k, v in (values or {}).items()}
        for field, table in tables["values"].items():
            if not isinstance(table, Mapping):
                raise SourceError(f"[{where}.values] {field}: must be a table, got {table!r}")
            merged_values.setdefault(field, {}).update(table)
        optional = settings.get("optional_columns", [])
        if not isinstance(optional, list):
            raise SourceError(f"[{where}] optional_columns: must be a list of fields")
        return cls(
            directory,
            columns={**(columns or {}), **tables["columns"]},
            values=merged_values,
            defaults=tables["defaults"],
            optional=optional,
            noun=noun,
            where=where,
        )

    # -- the header ------------------------------------------------------------------

    def bind(self, header: Iterable[Any], source: str) -> None:
        """Match the file's header (case and surrounding spaces do not matter).

        Raises ``SourceError`` listing the missing columns and the columns found when a
        required field's column or a configured column is missing, and when a column the
        mapping reads appears twice.
        """
        found: dict[str, str] = {}
        index: dict[str, int] = {}
        doubled: set[str] = set()
        cells = [None if is_blank(cell) else to_text(cell) for cell in header]
        names = [name for name in cells if name is not None]
        for position, name in enumerate(cells):
            if name is None:
                continue
            key = _normal(name)
            if key in found:
                doubled.add(key)
            found.setdefault(key, name)
            index.setdefault(key, position)
        carrier = [found[key] for key in found if key in CARRIER_COLUMNS]
        if carrier:
            raise SourceError(
                f"{source}: {self.noun} {carrier[0]!r} names a carrier per row, which an "
                "import does not support: every offer of an import belongs to the carrier "
                "given on the command line (directory import CARRIER ...); split the file "
                f"by carrier and import each part for its carrier, or remove the {self.noun}"
            )
        self.present = {}
        self.positions = {}
        missing: list[tuple[str, str]] = []
        for field, column in self.columns.items():
            key = _normal(column)
            if key in found:
                if key in doubled:
                    raise SourceError(
                        f"{source}: {self.noun} {column!r} appears twice in the header; "
                        "which one holds the " + field + " is unclear"
                    )
                self.present[field] = found[key]
                self.positions[field] = index[key]
            elif field in self.defaults:
                continue
            elif field in REQUIRED_FIELDS or (
                field in self.explicit and field not in self.optional
            ):
                missing.append((field, column))
        if missing:
            wanted = ", ".join(f"{column!r} ({field})" for field, column in missing)
            raise SourceError(
                f"{source}: missing {self.noun}(s) {wanted}; the header has: "
                f"{', '.join(repr(n) for n in names) or 'nothing'} (map the fields to "
                f"other {self.noun}s in the instance file: [{self.where}.columns])"
            )

    # -- rows ------------------------------------------------------------------------

    def convert(self, row: Mapping[str, Any], location: str) -> ImportRecord:
        """The record of one row given as header name → cell; ``bind`` must have run."""
        cells = {field: (column, row.get(column)) for field, column in self.present.items()}
        return self.convert_cells(cells, location)

    def convert_row(self, row: Sequence[Any], location: str) -> ImportRecord:
        """The record of one row given as cells in header order; ``bind`` must have run."""
        width = len(row)
        cells = {
            field: (self.present[field], row[i] if i < width else None)
            for field, i in self.positions.items()
        }
        return self.convert_cells(cells, location)

    def convert_cells(self, cells: Mapping[str, tuple[str, Any]], location: str) -> ImportRecord:
        """The record of one entry given as field → (column name, cell); for sources
        without a header (JSON, feeds), where each entry names its own fields."""
        offer = Offer(title="", kind="")
        errors: list[FieldError] = []
        seen: set[str] = set()
        defaults, assigners = self.defaults, self._assigners
        # (field, column or _DEFAULT, value); the label an error names is made only then
        given: list[tuple[str, object, Any]] = [(f, c, v) for f, (c, v) in cells.items()]
        if defaults:
            given += [(f, _DEFAULT, v) for f, v in defaults.items() if f not in cells]
        for field, column, value in given:
            if value is None or (isinstance(value, str) and not value.strip()):  # is_blank
                if field not in defaults:
                    continue
                value, column = defaults[field], _DEFAULT
                if is_blank(value):
                    continue
            assign = assigners.get(field) or self._assigner(field)
            try:
                assign(offer, value)
            except (ValueError, TypeError) as exc:
                label = (
                    f"default of [{self.where}.defaults]"
                    if column is _DEFAULT
                    else f"{self.noun} {column!r}"
                )
                errors.append(FieldError(field, f"{label}: {exc}"))
            else:
                seen.add(field)
        for field in REQUIRED_FIELDS:
            if field not in seen and not any(e.field == field for e in errors):
                column = cells[field][0] if field in cells else self.columns[field]
                errors.append(FieldError(field, f"{self.noun} {column!r} is empty"))
        if ("lat" in seen) != ("lon" in seen) and not any(
            e.field in ("lat", "lon") for e in errors
        ):
            given_one, other = ("lat", "lon") if "lat" in seen else ("lon", "lat")
            errors.append(FieldError(other, f"{given_one} is given, so {other} is needed too"))
        if errors:
            return ImportRecord(location, None, errors, external_id=offer.external_id or None)
        return ImportRecord(location, offer)

    def _assigner(self, field: str) -> Callable[[Offer, Any], None]:
        """What ``_set(offer, field, _mapped(field, value))`` does, with the look-ups
        made once per field rather than once per cell."""
        assign: Callable[[Offer, Any], None]
        setter = self._SETTERS.get(field)
        if field in self.custom_fields:

            def assign(offer: Offer, value: Any) -> None:
                self._set(offer, field, value)
        elif setter is not None:

            def assign(offer: Offer, value: Any) -> None:
                setter(self, offer, value)
        else:
            target, attribute = _PLAIN[field]
            convert = _CONVERTERS.get(field, to_text)
            if target is None:

                def assign(offer: Offer, value: Any) -> None:
                    setattr(offer, attribute, convert(value))
            else:

                def assign(offer: Offer, value: Any) -> None:
                    setattr(getattr(offer, target), attribute, convert(value))

        if self.values.get(field):
            plain = assign

            def assign(offer: Offer, value: Any) -> None:
                plain(offer, self._mapped(field, value))

        self._assigners[field] = assign
        return assign

    def _mapped(self, field: str, value: Any) -> Any:
        """``value`` through the field's value map (each item for lists)."""
        table = self.values.get(field)
        if not table:
            return value
        if field in ("categories", "channels", "languages", "target_groups") or (
            field in self.custom_fields and self.custom_fields[field].type == "enum_list"
        ):
            return [table.get(_normal(to_text(v)), v) for v in to_list(value)]
        if isinstance(value, list | dict):
            return value
        return table.get(_normal(to_text(value)), value)

    def _set(self, offer: Offer, field: str, value: Any) -> None:
        if field in self.custom_fields:
            spec = self.custom_fields[field]
            namespace = offer.extra.setdefault(spec.namespace, {})
            namespace[spec.name] = spec.coerce(_custom_value(spec, value))
            return
        setter = self._SETTERS.get(field)
        if setter is not None:
            setter(self, offer, value)
            return
        target, attribute = _PLAIN[field]
        converter = _CONVERTERS.get(field, to_text)
        setattr(offer if target is None else getattr(offer, target), attribute, converter(value))

    def _set_kind(self, offer: Offer, value: Any) -> None:
        text = to_text(value)
        kind = self._kinds.get(text.casefold())
        if kind is None:
            labels = ", ".join(KIND_LABELS.values())
            raise ValueError(f"unknown kind {text!r}; allowed: {', '.join(KINDS)} or {labels}")
        offer.kind = kind

    def _set_categories(self, offer: Offer, value: Any) -> None:
        keys: list[str] = []
        for item in to_list(value):
            key = self._categories.get(to_text(item).casefold())
            if key is None:
                raise ValueError(f"unknown category {to_text(item)!r}")
            if key not in keys:
                keys.append(key)
        offer.categories = keys

    def _set_district(self, offer: Offer, value: Any) -> None:
        text = to_text(value)
        key = self._districts.get(text.casefold())
        if key is None:
            names = ", ".join(d.name for d in self.directory.districts) or "none"
            raise ValueError(f"unknown district {text!r}; districts: {names}")
        offer.district, offer.district_manual = key, True

    def _set_lat(self, offer: Offer, value: Any) -> None:
        lat = to_float(value)
        if not -90 <= lat <= 90:
            raise ValueError(f"must be between -90 and 90, got {to_text(value)!r}")
        lon = offer.location.lon if offer.location else 0.0
        offer.location = Location(lat, lon, Precision.MANUAL)

    def _set_lon(self, offer: Offer, value: Any) -> None:
        lon = to_float(value)
        if not -180 <= lon <= 180:
            raise ValueError(f"must be between -180 and 180, got {to_text(value)!r}")
        lat = offer.location.lat if offer.location else 0.0
        offer.location = Location(lat, lon, Precision.MANUAL)

    def _set_channels(self, offer: Offer, value: Any) -> None:
        channels = []
        for item in to_list(value):
            text = to_text(item)
            channel = text if text in CHANNELS else CHANNEL_WORDS.get(text.casefold())
            if channel is None:
                raise ValueError(f"unknown channel {text!r}; allowed: {', '.join(CHANNELS)}")
            channels.append(channel)
        offer.channels = list(dict.fromkeys(channels))

    def _set_languages(self, offer: Offer, value: Any) -> None:
        codes = []
        for item in to_list(value):
            text = to_text(item)
            code = self._languages.get(text.casefold())
            if code is None:
                raise ValueError(f"unknown language {text!r} (ISO 639-1 code or German name)")
            codes.append(code)
        offer.languages = list(dict.fromkeys(codes))

    def _set_cost(self, offer: Offer, value: Any) -> None:
        text = to_text(value)
        if text.casefold() in FREE_WORDS:
            offer.cost.free_of_charge, offer.cost.note = True, ""
        else:
            offer.cost.free_of_charge, offer.cost.note = False, text

    def _set_status(self, offer: Offer, value: Any) -> None:
        text = to_text(value)
        status = text if text in STATUSES else STATUS_WORDS.get(text.casefold())
        if status is None:
            raise ValueError(f"unknown status {text!r}; allowed: {', '.join(STATUSES)}")
        offer.status = status

    # The fields that need more than a converter (a lookup in the instance, two
    # attributes, a list); every other field is in ``_PLAIN``.
    _SETTERS: ClassVar[dict[str, Callable[[ColumnMapping, Offer, Any], None]]] = {
        "kind": _set_kind,
        "categories": _set_categories,
        "district": _set_district,
        "lat": _set_lat,
        "lon": _set_lon,
        "channels": _set_channels,
        "languages": _set_languages,
        "cost": _set_cost,
        "status": _set_status,
    }


_DEFAULT = object()  # in place of a column: the value is the instance's default


def _normal(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def _custom_value(spec: CustomField, value: Any) -> Any:
    """A cell in the form ``CustomField.coerce`` takes for the field's type."""
    kind = spec.type
    if kind == "boolean":
        return to_bool(value)
    if kind == "integer":
        return to_integer(value)
    if kind == "decimal":
        return to_decimal(value)
    if kind == "date":
        return to_date(value)
    if kind == "enum":
        return _enum_value(spec, value)
    if kind == "enum_list":
        return [_enum_value(spec, item) for item in to_list(value)]
    return to_text(value)


def _enum_value(spec: CustomField, value: Any) -> str:
    text = to_text(value)
    return next((v for v in spec.values if v.casefold() == text.casefold()), text)


# field -> (attribute of the offer holding it or None for the offer itself, attribute)
_PLAIN: dict[str, tuple[str | None, str]] = {
    "external_id": (None, "external_id"),
    "title": (None, "title"),
    "description": (None, "description"),
    "street": ("address", "street"),
    "postcode": ("address", "postcode"),
    "city": ("address", "city"),
    "phone": ("contact", "phone"),
    "email": ("contact", "email"),
    "website": ("contact", "website"),
    "schedule": ("schedule", "rules"),
    "schedule_note": ("schedule", "note"),
    "valid_from": ("schedule", "valid_from"),
    "valid_until": ("schedule", "valid_until"),
    "wheelchair": ("accessibility", "wheelchair"),
    "hearing_loop": ("accessibility", "hearing_loop"),
    "easy_language": ("accessibility", "easy_language"),
    "accessibility_note": ("accessibility", "note"),
    "free_of_charge": ("cost", "free_of_charge"),
    "cost_note": ("cost", "note"),
    "target_groups": (None, "target_groups"),
    "verified_at": (None, "verified_at"),
}
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "postcode": to_postcode,
    "phone": to_phone,
    "email": to_email,
    "website": to_website,
    "schedule": to_schedule,
    "valid_from": to_date,
    "valid_until": to_date,
    "wheelchair": to_bool,
    "hearing_loop": to_bool,
    "easy_language": to_bool,
    "free_of_charge": to_bool,
    "target_groups": lambda value: [to_text(v) for v in to_list(value)],
    "verified_at": to_datetime,
}
