"""Bank-file readers: every export format becomes the same statement lines.

Readers are pure: ``read(path, ...) -> ReadResult`` with statements and
diagnostics, no database, no matching.  This package may use ``ledger.money``
(the value type) and nothing else from ``ledger``.
"""
