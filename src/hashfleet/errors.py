"""The hashfleet exception hierarchy.

Every error a user can cause is a :class:`HashfleetError`.  The CLI prints
``TypeName: message`` for these and exits 2 for input errors
(:class:`InputError` and its children) and 1 for run failures; a traceback is
shown only with ``--debug``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConsensusError",
    "DataError",
    "HashfleetError",
    "InputError",
    "IssueLocation",
    "OutputError",
    "ResourceError",
    "RunError",
    "ScenarioError",
    "ScenarioIssue",
]


class HashfleetError(Exception):
    """Base class of every error hashfleet raises on purpose."""

    exit_code: int = 1


class InputError(HashfleetError, ValueError):
    """The user gave something hashfleet cannot use (exit code 2)."""

    exit_code = 2


class ConsensusError(InputError):
    """An invalid consensus value, e.g. a negative or overflowing compact target."""


class DataError(InputError):
    """A data file (history, catalogue, CSV path) is missing or malformed."""


class RunError(HashfleetError):
    """A simulation failed while running (exit code 1)."""


class OutputError(RunError):
    """Results could not be written (a full disk, no permission); earlier results are kept."""


class ResourceError(InputError):
    """A run would need more memory than allowed (exit code 2): the message gives the
    estimate and the option that raises the limit."""


#: Longest line a :class:`ScenarioIssue` prints (characters); a user's value longer than
#: that is cut, so a message stays readable whatever the input.
MAX_ISSUE_CHARS = 500
#: Most issues a :class:`ScenarioError` message lists (all stay in ``.issues``).
MAX_ISSUES_SHOWN = 50


@dataclass(frozen=True)
class IssueLocation:
    """Where in a file an issue was found (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True)
class ScenarioIssue:
    """One problem in a scenario: where, which field, and what is wrong."""

    location: IssueLocation
    field: str
    message: str

    def __str__(self) -> str:
        field = f"{self.field}: " if self.field else ""
        if len(field) > 120:
            field = field[:100] + "...: "
        text = f"{self.location}: {field}{self.message}"
        if len(text) > MAX_ISSUE_CHARS:
            text = text[: MAX_ISSUE_CHARS - 25] + f"... ({len(text):,} characters)"
        return text


class ScenarioError(InputError):
    """A scenario file is invalid.  Holds every issue found, not only the first.

    ``str(error)`` is one line per issue in the form
    ``file:line:col: field.path: expected ..., got ...``.
    """

    def __init__(self, issues: list[ScenarioIssue] | str) -> None:
        if isinstance(issues, str):
            issues = [ScenarioIssue(IssueLocation("<scenario>"), "", issues)]
        self.issues: list[ScenarioIssue] = list(issues)
        lines = [str(i) for i in self.issues[:MAX_ISSUES_SHOWN]]
        if len(self.issues) > MAX_ISSUES_SHOWN:
            lines.append(f"... and {len(self.issues) - MAX_ISSUES_SHOWN} more issues")
        super().__init__("\n".join(lines))
