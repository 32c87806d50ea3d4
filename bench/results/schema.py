"""The results format's version and the one error a reader or writer raises.

Its own module so that every reader (the file, the pytest-benchmark conversion) can
name them without importing each other. bench.results.file holds the format history.
"""

SCHEMA_VERSION = 2
CASE_STATUSES = ("ok", "error", "wrong", "skipped")


class ResultsFileError(Exception):
    """A results file that cannot be read or written; the message is for the user."""
