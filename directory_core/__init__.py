"""The core of the network and resource directory: model, store, geography, plugins."""

__version__ = "0.1.0"
