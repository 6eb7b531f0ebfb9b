"""Eligibility and transfer-loss rules: rule-set files, safe evaluation,
explained decisions.  Pure: no database; may use ``ledger.money`` only.
"""
