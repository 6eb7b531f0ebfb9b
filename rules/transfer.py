"""Transfer-loss flags: the same rule engine, over the facts of one transfer.

``transfer_facts`` turns the figures the ledger measured on a transfer
(amounts in EUR at the reference rate, dates) into facts;
``evaluate_transfer`` runs a transfer rule set (``rules/transfer.toml`` by
default) and returns one :class:`TransferFlag` per failed rule.  Unknown facts
-- the received amount of a transfer still in transit -- raise no flag.
Amounts are ``Decimal`` (or EUR ``Money``), never float.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from ledger.money import Money
from rules.engine import evaluate
from rules.errors import FactValueError, RuleFileError
from rules.loader import load_ruleset
from rules.model import SEVERITIES, Fact, RuleSet, json_value

__all__ = [
    "DEFAULT_TRANSFER_RULES",
    "TransferFlag",
    "evaluate_transfer",
    "load_transfer_rules",
    "transfer_facts",
]

DEFAULT_TRANSFER_RULES = Path(__file__).with_name("transfer.toml")


@dataclass(frozen=True, slots=True)
class TransferFlag:
    """A transfer figure outside its threshold: which rule, how serious, why (in one language)."""

    rule_id: str
    severity: str
    message: str
    value: object
    threshold: object
    reference: str
    source: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (Decimal as exact text)."""
        return {
            "rule": self.rule_id,
            "severity": self.severity,
            "message": self.message,
            "value": json_value(self.value),
            "threshold": json_value(self.threshold),
            "reference": self.reference,
            "source": self.source,
        }


def load_transfer_rules(path: str | Path | None = None) -> RuleSet:
    """Load a transfer rule set (the shipped ``rules/transfer.toml`` when ``path`` is None)."""
    target = DEFAULT_TRANSFER_RULES if path is None else Path(path)
    ruleset = load_ruleset(target)
    if ruleset.kind != "transfer":
        raise RuleFileError.at(str(target), 1, "[ruleset] kind must be 'transfer' here")
    return ruleset


def _eur(name: str, value: Decimal | Money | int | None) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Money):
        if value.currency != "EUR":
            raise FactValueError(f"{name}: expected an amount in EUR, got {value.currency}")
        return value.amount
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise FactValueError(f"{name}: expected a Decimal amount in EUR, not "
                             f"{type(value).__name__}")
    return Decimal(value)


def transfer_facts(
    *,
    sent_eur: Decimal | Money,
    as_of: date,
    sent_on: date,
    received_eur: Decimal | Money | None = None,
    received_on: date | None = None,
    fee_eur: Decimal | Money | None = None,
    exchange_margin_eur: Decimal | Money | None = None,
) -> dict[str, Decimal | int]:
    """The facts of one transfer, ready for :func:`evaluate_transfer`.

    A settled transfer (``received_eur`` and ``received_on`` given) yields
    ``loss_eur`` and ``days_in_transit``; an unsettled one yields
    ``days_pending`` (days from ``sent_on`` to ``as_of``).  ``fee_eur`` and
    ``exchange_margin_eur`` are the two parts of the loss, when measured.
    """
    facts: dict[str, Decimal | int] = {}
    sent = _eur("sent_eur", sent_eur)
    assert sent is not None
    facts["sent_eur"] = sent
    received = _eur("received_eur", received_eur)
    if received is not None and received_on is not None:
        facts["loss_eur"] = sent - received
        facts["days_in_transit"] = (received_on - sent_on).days
    else:
        facts["days_pending"] = (as_of - sent_on).days
    fee = _eur("fee_eur", fee_eur)
    if fee is not None:
        facts["fee_eur"] = fee
    margin = _eur("exchange_margin_eur", exchange_margin_eur)
    if margin is not None:
        facts["exchange_margin_eur"] = margin
    return facts


def evaluate_transfer(
    ruleset: RuleSet,
    facts: Mapping[str, object],
    as_of: date,
    lang: str = "en",
) -> list[TransferFlag]:
    """Flags raised by one transfer on ``as_of``: one per failed rule, most severe first.

    ``facts`` maps fact names to plain values (Decimal/int/EUR Money, dates) or
    to :class:`Fact`; an undeclared name is refused (a typo would hide a flag).
    """
    prepared: dict[str, Fact] = {}
    for name, raw in facts.items():
        if name not in ruleset.facts:
            raise FactValueError(f"unknown transfer fact {name!r} (rule set {ruleset.name})")
        if isinstance(raw, Fact):
            prepared[name] = raw
            continue
        value = _eur(name, raw) if isinstance(raw, Money) else raw
        if isinstance(value, float):
            raise FactValueError(f"{name}: floats are refused; use Decimal")
        prepared[name] = Fact(name, value, as_of, "transfer")  # type: ignore[arg-type]
    decision = evaluate(ruleset, prepared, as_of, lang)
    flags: list[TransferFlag] = []
    for result in decision.results:
        if result.status != "fail":
            continue
        reference = "; ".join(t.reference for t in result.thresholds if t.reference)
        flags.append(TransferFlag(result.rule_id, result.severity, result.message, result.value,
                                  result.threshold, reference, result.source))
    flags.sort(key=lambda f: SEVERITIES.index(f.severity))
    return flags
