"""Importers: turn a carrier's source (file or URL) into offers.

- ``base``: the ``Importer`` class to extend, ``ImportRecord``, ``SourceError`` and the
  helpers ``Importer.read_text`` (honours the ``encoding`` setting), ``read_source``
  and ``decode_text``.
- ``mapping``: ``ColumnMapping``, which turns one row (column name → cell) into a record,
  with the column mapping of the instance file; shared by all table-like importers.
- ``csv_importer``, ``xlsx_importer``, ``json_importer``: the built-in generic importers
  ``csv``, ``xlsx`` and ``json``, each an ordinary plugin (``register_importers``).

``directory_core.importing.run_import`` runs an importer: validation, geocoding, upsert,
archiving, the report and the run record.
"""
