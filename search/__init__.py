"""Search behind one interface (``base.SearchBackend``): the embedded default and
Elasticsearch. Installed as ``directory_search``."""
