"""Tongban (通办): equalized digital government services."""

__version__ = "0.1.0"
