"""The rules package's exception tree.

User-input problems in a rule-set or scenario file become a
:class:`RuleFileError` carrying ``file``, ``line`` and ``message`` (printed as
``file:line: message``); every problem found in one file is kept in
``diagnostics`` so ``rules validate`` can show them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Diagnostic", "FactValueError", "LanguageError", "RuleFileError", "RulesError"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a file, at a line (1-based; line 1 when the whole file is at fault)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class RulesError(Exception):
    """Base class of every error raised by the rules package."""


class RuleFileError(RulesError):
    """A rule-set or scenario file was refused; ``str()`` gives ``file:line: message`` lines."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        if not diagnostics:
            raise ValueError("RuleFileError needs at least one diagnostic")
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        first = self.diagnostics[0]
        self.file = first.file
        self.line = first.line
        self.message = first.message
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    @classmethod
    def at(cls, file: str, line: int, message: str) -> RuleFileError:
        """Build an error holding a single diagnostic."""
        return cls([Diagnostic(file, line, message)])


class FactValueError(RulesError, ValueError):
    """A fact value that does not have the type its rule set declares (or an undeclared fact)."""


class LanguageError(RulesError):
    """A message language other than en, fr or es was asked for."""
