"""Strategies for request histories: event streams, the requests they fold to, single events.

Every stream is one :func:`reqfulfill.lifecycle.decide` produced from drawn
commands, so what is drawn is reachable by construction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reqfulfill import lifecycle
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.errors import ReqfulfillError
from reqfulfill.model.events import Event
from reqfulfill.model.request import ServiceRequest
from reqfulfill.rules import Rules
from reqfulfill.sla import SlaPolicy
from reqfulfill.testing.strategies._basics import check_int, lazy
from reqfulfill.testing.strategies._commands import (
    COMMAND_KINDS,
    RARE_COMMANDS,
    blind_pools,
    check_catalog,
    draw_catalog,
    draw_command,
    state_pools,
    submissions,
)

__all__ = ["events", "histories", "requests", "service_requests", "submitted_events"]

# minutes the clock moves before a step: mostly a little, sometimes days (SLA thresholds)
_pauses: st.SearchStrategy[int] = st.one_of(
    st.integers(0, 90), st.integers(90, 3 * 24 * 60), st.just(0)
)
_starts: st.SearchStrategy[datetime] = st.datetimes(
    datetime(2024, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)
).map(lambda at: at.replace(second=0, microsecond=0))


@st.composite
def _histories(
    draw: st.DrawFn,
    catalog: Catalog | st.SearchStrategy[Catalog],
    sla: SlaPolicy | None,
    rules: Rules | None,
    max_steps: int,
) -> tuple[list[Event], ServiceRequest]:
    the_catalog = draw_catalog(draw, catalog)
    submit = draw(submissions(catalog=the_catalog))
    now = draw(_starts)

    def context() -> lifecycle.Context:
        return lifecycle.Context(catalog=the_catalog, now=now, sla=sla, rules=rules)

    history, state = lifecycle.decide_and_evolve(None, submit, context())
    assert state is not None
    blind = blind_pools(the_catalog, submit, max_steps)
    for _ in range(draw(st.integers(0, max_steps))):
        now += timedelta(minutes=draw(_pauses))
        # mostly a command the state accepts that moves it on, aimed at its tasks and effects
        fitting = [
            k
            for k in COMMAND_KINDS
            if state.state in lifecycle.COMMAND_STATES[k] and k not in RARE_COMMANDS
        ]
        aimed = draw(st.integers(0, 3)) < 3 and fitting
        kind = draw(st.sampled_from(fitting if aimed else COMMAND_KINDS))
        command = draw_command(draw, kind, state_pools(the_catalog, state, blind))
        try:
            new, after = lifecycle.decide_and_evolve(state, command, context())
        except ReqfulfillError:
            continue  # refused: nothing happened
        if after is not None:
            history.extend(new)
            state = after
    return history, state


def histories(
    *,
    catalog: Catalog | st.SearchStrategy[Catalog] | None = None,
    sla: SlaPolicy | None = None,
    rules: Rules | None = None,
    max_steps: int = 30,
) -> st.SearchStrategy[tuple[list[Event], ServiceRequest]]:
    """``(events, state)``: a request's whole event stream and the state it folds to.

    A drawn :func:`submissions` command is decided, then up to ``max_steps``
    further commands (mostly ones the current state accepts, aimed at its
    tasks, open effects and likely actors), each with the clock moved on by
    minutes to days; refused commands are dropped and the events of the
    accepted ones kept, so every stream is one :func:`reqfulfill.lifecycle.decide`
    can produce and ``lifecycle.replay(events) == state``. ``sla`` defaults to
    ``SlaPolicy.default()`` and ``rules`` to the built-in routing;
    ``catalog`` is a ``Catalog``, a strategy of catalogs, or None for
    :func:`reqfulfill.testing.demo_catalog`.

    >>> events, state = histories(max_steps=10).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[tuple[list[Event], ServiceRequest]]:
        steps = check_int("max_steps", max_steps)
        if sla is not None and not isinstance(sla, SlaPolicy):
            raise InvalidArgument(f"sla={sla!r} must be a SlaPolicy or None")
        if rules is not None and not isinstance(rules, Rules):
            raise InvalidArgument(f"rules={rules!r} must be a Rules or None")
        policy = sla if sla is not None else SlaPolicy.default()
        return _histories(check_catalog(catalog), policy, rules, steps)

    return lazy(build)


def service_requests(
    *,
    catalog: Catalog | st.SearchStrategy[Catalog] | None = None,
    sla: SlaPolicy | None = None,
    rules: Rules | None = None,
    max_steps: int = 30,
) -> st.SearchStrategy[ServiceRequest]:
    """Service requests in any reachable state: the state of a :func:`histories` draw.

    Every drawn request is reachable by construction (it is the fold of events
    ``decide`` produced), in any state from ``awaiting_approval`` to
    ``closed`` with feedback. Arguments as for :func:`histories`.

    >>> request = service_requests(catalog=demo_catalog()).example()  # doctest: +SKIP
    """
    return histories(catalog=catalog, sla=sla, rules=rules, max_steps=max_steps).map(
        lambda pair: pair[1]
    )


requests = service_requests
"""Another name for :func:`service_requests`."""


def events(
    *,
    catalog: Catalog | st.SearchStrategy[Catalog] | None = None,
    sla: SlaPolicy | None = None,
    rules: Rules | None = None,
    max_steps: int = 30,
) -> st.SearchStrategy[Event]:
    """Single events of any type a :func:`histories` stream holds, valid by construction.

    Each one was produced by ``decide`` for some request, so it serializes and
    fits the state before it. Arguments as for :func:`histories`.

    >>> event = events().example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[Event]:
        streams = histories(catalog=catalog, sla=sla, rules=rules, max_steps=max_steps)
        return streams.flatmap(lambda pair: st.sampled_from(pair[0]))

    return lazy(build)


def submitted_events(
    *, catalog: Catalog | st.SearchStrategy[Catalog] | None = None
) -> st.SearchStrategy[Event]:
    """``RequestSubmitted`` events: the first event of drawn request streams.

    >>> submitted_events().example().type  # doctest: +SKIP
    'RequestSubmitted'
    """
    return histories(catalog=catalog, max_steps=0).map(lambda pair: pair[0][0])
