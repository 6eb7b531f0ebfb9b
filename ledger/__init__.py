"""The double-entry core: money, accounts, journal, transfers, rates,
reconciliation state, database and the CLI shell.

``ledger``'s core never imports ``imports``, ``rules`` or ``reports``; only the
CLI (``ledger.cli``) wires them together.
"""
