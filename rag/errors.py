"""The project's error types: every message names the bad value, what is allowed, and the fix.

The CLI and the service catch `RagError` and show its message as one line (or a 4xx
body); anything else is a bug and is allowed to surface as one.
"""


class RagError(Exception):
    """Base for errors a user can fix; the message is written for them."""


class ConfigError(RagError):
    """A config file or override is invalid (unknown key, bad value, unknown component)."""


class ComponentError(RagError):
    """A component cannot do what it was asked (model missing, too few vectors to train)."""


class IndexStateError(RagError):
    """An index is missing, stale (built from another config or corpus) or corrupt."""


class DataError(RagError):
    """An input dataset or corpus file is malformed (bad span, duplicate id, unknown type)."""
