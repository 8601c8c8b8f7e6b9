"""The core of the network and resource directory: model, store, geography, plugins.

Plugin authors import ``hookimpl`` from here::

    from directory_core import hookimpl
"""

from .hookspecs import hookimpl

__all__ = ["hookimpl", "__version__"]
__version__ = "0.1.0"
