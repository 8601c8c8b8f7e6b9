"""The HSDS 3.0 read API (Open Referral): a front door mounted at ``/hsds/``.

Installed as ``directory_hsds``. It calls only the directory (``Directory`` methods and
the search interface) and the core's HSDS mapping (``directory_core.hsds``); see
``docs/hsds.md`` for the endpoints, parameters and the mapping.
"""
