"""The ledger's exception tree.  ``LedgerError`` and its children are refusals a
user can act on: the CLI prints their message on one line and exits non-zero."""

from __future__ import annotations


class LedgerError(Exception):
    """A refused command: the message says what is wrong and how to fix it."""


class NotFoundError(LedgerError):
    """An organisation, account or entry that does not exist."""


class AlreadyExistsError(LedgerError):
    """Something with that name or code already exists."""


class InvalidInputError(LedgerError):
    """A value that does not make sense (bad IBAN, unknown kind, bad date...)."""


class AccountError(LedgerError):
    """Posting to an unknown, closed or wrong-currency account."""


class UnbalancedEntryError(LedgerError):
    """An entry whose postings do not sum to zero in every currency."""


class ClosedPeriodError(LedgerError):
    """A post or reversal dated inside a closed period."""


class IdempotencyConflictError(LedgerError):
    """An idempotency key reused with different content."""


class ConcurrencyError(LedgerError):
    """A write that could not get through after retrying concurrent writers."""
