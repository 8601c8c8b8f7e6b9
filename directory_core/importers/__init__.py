"""Importers: turn a carrier's source (file or URL) into offers. The built-in generic
ones (CSV, XLSX, JSON) are ordinary plugins; ``base.Importer`` is the class to extend."""
