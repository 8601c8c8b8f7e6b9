"""Open Referral HSDS 3.0: the directory's offers as open data, both ways.

- ``mapping``: offer → HSDS service (with location, service_at_location, phones,
  schedules, languages, cost options, attributes), carrier → organization, categories
  and the directory's own fields → taxonomies and taxonomy terms; deterministic UUIDs.
- ``reading``: an HSDS service (fully nested JSON) → offer, for the ``hsds`` importer.
- ``tabular``: the nested JSON ↔ the tabular CSV form with ``datapackage.json``.
- ``package``: ``directory export hsds`` (writing a package) and reading one back.
- ``hsds_importer``: the built-in importer ``hsds`` (a package folder or an HSDS API URL).

The field-by-field mapping is written down in ``docs/hsds.md``. The tabular schema in
``schema/tabular.json`` is a copy of the official HSDS 3.0 schema (Open Referral,
CC BY-SA 4.0, see ``schema/ATTRIBUTION.md``).
"""

HSDS_VERSION = "3.0"
