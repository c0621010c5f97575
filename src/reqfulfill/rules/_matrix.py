"""The ITIL priority matrix: impact x urgency -> priority."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from reqfulfill.model.enums import Impact, Priority, Urgency
from reqfulfill.model.errors import Problem, ValidationError

__all__ = ["ITIL_MATRIX", "PriorityMatrix"]

ITIL_MATRIX: Final[Mapping[Impact, Mapping[Urgency, Priority]]] = {
    Impact.HIGH: {Urgency.HIGH: Priority(1), Urgency.MEDIUM: Priority(2), Urgency.LOW: Priority(3)},
    Impact.MEDIUM: {
        Urgency.HIGH: Priority(2),
        Urgency.MEDIUM: Priority(3),
        Urgency.LOW: Priority(4),
    },
    Impact.LOW: {Urgency.HIGH: Priority(3), Urgency.MEDIUM: Priority(4), Urgency.LOW: Priority(5)},
}
"""The ITIL 3x3 matrix: H/H=1, H/M=M/H=2, H/L=M/M=L/H=3, M/L=L/M=4, L/L=5."""


def _itil() -> dict[Impact, dict[Urgency, Priority]]:
    return {impact: dict(row) for impact, row in ITIL_MATRIX.items()}


def _complete(
    value: Mapping[Impact, Mapping[Urgency, Priority]],
) -> dict[Impact, dict[Urgency, Priority]]:
    table = _itil()
    for impact, row in value.items():
        for urgency, priority in row.items():
            table[Impact(impact)][Urgency(urgency)] = Priority(priority)
    return table


@attrs.frozen
class PriorityMatrix:
    """Maps impact and urgency to a priority; by default the ITIL 3x3 matrix.

    The data form is impact -> urgency -> priority; cells left out keep the
    ITIL value.

    >>> PriorityMatrix().priority(Impact.HIGH, Urgency.MEDIUM)
    <Priority.HIGH: 2>
    >>> PriorityMatrix.from_dict({"low": {"low": 4}}).priority(Impact.LOW, Urgency.LOW)
    <Priority.LOW: 4>
    """

    table: Mapping[Impact, Mapping[Urgency, Priority]] = attrs.field(
        factory=_itil, converter=_complete
    )

    def priority(self, impact: Impact, urgency: Urgency) -> Priority:
        """The priority of a request with this impact and urgency."""
        return self.table[impact][urgency]

    def to_dict(self) -> dict[str, dict[str, int]]:
        """The data form: ``{"high": {"high": 1, "medium": 2, "low": 3}, ...}``."""
        return {
            impact.value: {urgency.value: int(p) for urgency, p in row.items()}
            for impact, row in self.table.items()
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: str | None = None, path: str = ""
    ) -> PriorityMatrix:
        """Build a matrix from its data form; every bad key or value is reported."""
        problems: list[Problem] = []
        table: dict[Impact, dict[Urgency, Priority]] = {}

        def at(*keys: str) -> str:
            return ".".join(k for k in (path, *keys) if k)

        if not isinstance(data, Mapping):
            raise ValidationError([Problem(path, data, "expected a table")], source=source)
        impacts = {i.value: i for i in Impact}
        urgencies = {u.value: u for u in Urgency}
        for impact_key, row in data.items():
            impact = impacts.get(impact_key)
            if impact is None:
                problems.append(
                    Problem(
                        at(str(impact_key)),
                        impact_key,
                        "unknown impact; expected high, medium or low",
                    )
                )
                continue
            if not isinstance(row, Mapping):
                problems.append(
                    Problem(at(impact_key), row, "expected a table of urgency -> priority")
                )
                continue
            for urgency_key, value in row.items():
                urgency = urgencies.get(urgency_key)
                where = at(impact_key, str(urgency_key))
                if urgency is None:
                    problems.append(
                        Problem(where, urgency_key, "unknown urgency; expected high, medium or low")
                    )
                elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                    problems.append(Problem(where, value, "a priority is an integer from 1 to 5"))
                else:
                    table.setdefault(impact, {})[urgency] = Priority(value)
        if problems:
            raise ValidationError(problems, source=source)
        return cls(table)
