"""Every public method of ``FulfillmentService`` with arbitrary argument values, and the
oracle they must meet on every store; shared by ``test_command_inputs.py`` and
``scripts/fuzz_commands.py``.

The oracle (issue "nothing a caller sends can poison a request"): a call either raises a
``ReqfulfillError`` and the request's stream is as it was (same events, same version),
or it returns, and a fresh service on the same store loads every request it returned
equal to what it returned, with a history that decodes. Anything else raised is an
*untyped* error: a bug.

The methods are found on the class (:data:`METHODS`); every parameter draws from
:data:`ARGUMENTS`, by its name -- a method with a parameter that has no strategy there
fails :func:`check_every_parameter_has_a_strategy`, so a new method is not forgotten.
Each strategy mixes values that fit the request at hand (its tasks, effects, actors)
with junk: None, integers up to 2**80, NaN and infinities, booleans, bytes, lists,
tables, strings with NUL or surrogates or of 256 to a million characters, unknown enum
values, members of the wrong enum, tables nested 30 to 40 levels deep.
"""

from __future__ import annotations

import inspect
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from hypothesis import strategies as st

from reqfulfill import FixedClock, FulfillmentService, lifecycle
from reqfulfill.intake import InboundMessage
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.model.enums import Channel, Impact, OrderStatus, RequestState, Urgency
from reqfulfill.model.errors import ReqfulfillError
from reqfulfill.model.events import Event, ItemSuggestion
from reqfulfill.model.inventory import PluginReservation
from reqfulfill.model.request import ServiceRequest
from reqfulfill.schedule import current_timers
from reqfulfill.serialization import event_from_dict, event_to_dict
from reqfulfill.sla import SlaPolicy
from reqfulfill.stores import RequestSummary, Store
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing.strategies import answers as answer_tables
from reqfulfill.testing.strategies import histories, requesters, stock_reservations

CATALOG: Catalog = demo_catalog()
SLA = SlaPolicy.default()
PEOPLE = (
    "erin.user",
    "max.manager",
    "sam.agent",
    "tia.agent",
    "lee.expert",
    "ida.admin",
    lifecycle.WORKER,
    lifecycle.SYSTEM,
    "mallory",
)
WORDS = ("no longer needed", "broken", "info", "from stock", "")

METHODS: tuple[str, ...] = tuple(
    sorted(
        name
        for name, member in inspect.getmembers(FulfillmentService, inspect.isfunction)
        if not name.startswith("_")
    )
)
"""Every public method of the service: its commands and its queries."""


def parameters(method: str) -> list[inspect.Parameter]:
    """The parameters of a service method, ``self`` left out."""
    return list(inspect.signature(getattr(FulfillmentService, method)).parameters.values())[1:]


# -- junk ---------------------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = {"leaf": 1}
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


_bad_text = st.lists(
    st.characters(codec=None)
    | st.characters(categories=["Cs"])
    | st.sampled_from(["\x00", "\ud83d\ude00", "\u202e", "/"]),
    max_size=12,
).map("".join)
_long_text = st.sampled_from([256, 1_000, 100_001]).map(lambda n: "é" * n) | st.just(
    "x" * 1_000_001
)
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 7),
    st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, 2**64, 2**80, 10**30]),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1.5, -0.0]),
    st.binary(max_size=8),
    _bad_text,
    _long_text,
    st.sampled_from(["HIGH", "nope", "open", "1", "REQ-NOPE", "erin.user\x00", "\udc80"]),
    st.sampled_from([Channel.EMAIL, Impact.HIGH, Urgency.LOW, OrderStatus.SHIPPED]),
    st.sampled_from([RequestState.CLOSED, timedelta(hours=1), datetime(2026, 1, 1)]),
    st.lists(st.integers() | st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers() | st.none(), max_size=3),
    st.sampled_from([(), ("a",), {"a"}, frozenset(), object()]),
)
"""Values of the wrong type, unknown enum values, strings a store cannot hold."""

_bad_tables = st.one_of(
    st.sampled_from([30, 31, 32, 40]).map(lambda depth: {"deep": _nested(depth)}),
    st.dictionaries(st.text(max_size=3) | _bad_text, JUNK, max_size=3),
    st.sampled_from(
        [
            {1: "int key"},
            {"tags": {"a", "b"}},
            {"n": float("nan")},
            {"big": 2**64},
            {"when": datetime(2026, 1, 1, tzinfo=UTC)},
            {"t": (1, 2)},
            {"s": "\x00"},
            {"s": "\udc80"},
        ]
    ),
)


_label = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20
) | st.just("\U0001d4b3" * 255)
"""Any text a label may be: astral, right-to-left, control characters, 255 of them."""
_text = _label | st.just("é" * 5_000)
"""Any free text: a label, or 5,000 characters."""


def mixed(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value that fits, often junk (for the fields of drawn commands)."""
    return st.one_of(valid, valid, JUNK)


# -- what fits a request --------------------------------------------------------------------


@attrs.frozen
class Pools:
    """Values that fit the request at hand."""

    request_id: str
    state: ServiceRequest
    tasks: tuple[str, ...]
    effects: tuple[str, ...]
    refs: tuple[str, ...]

    @classmethod
    def of(cls, state: ServiceRequest) -> Pools:
        effects = {
            *(t.order_effect for t in state.plan if t.order_effect),
            *state.pending_notifications,
            *(e for found in state.cancel_effects.values() for e in found),
        }
        return cls(
            request_id=state.id,
            state=state,
            tasks=(*(t.key for t in state.plan), "no-such-task"),
            effects=(*sorted(effects), f"{state.id}/1", f"{state.id}/999"),
            refs=(*sorted({t.order_ref for t in state.plan if t.order_ref}), "R-1"),
        )


def _ids(pools: Pools) -> st.SearchStrategy[str]:
    return st.sampled_from([pools.request_id] * 4 + ["REQ-NOPE", pools.request_id + "/1"])


def _enum(cls: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(list(cls)) | st.sampled_from([m.value for m in cls])


def _worker_commands(pools: Pools) -> st.SearchStrategy[lifecycle.Command]:
    effects = st.sampled_from(pools.effects)
    return st.one_of(
        st.builds(lifecycle.NotificationDelivered, actor=st.just("worker"), effect_id=effects),
        st.builds(lifecycle.RecordAttempt, actor=st.just("worker"), effect_id=effects),
        st.builds(
            lifecycle.OrderPlaced,
            actor=st.just("worker"),
            effect_id=effects,
            ref=mixed(st.sampled_from(pools.refs)),
        ),
        st.builds(
            lifecycle.EffectFailed,
            actor=st.just("worker"),
            effect_id=effects,
            reason=mixed(st.sampled_from(WORDS)),
        ),
        st.builds(
            lifecycle.AutomationSucceeded,
            actor=st.just("worker"),
            effect_id=effects,
            result=mixed(st.just({"ok": True})) | _bad_tables,
        ),
    )


@st.composite
def _commands(draw: st.DrawFn, pools: Pools) -> Any:
    """Any lifecycle command, each field drawn as the parameter of that name is."""
    kind = draw(st.sampled_from(lifecycle.commands()))
    values = {
        field.name: draw(argument(field.name, "execute", pools))
        for field in attrs.fields(kind)
        if field.default is attrs.NOTHING or draw(st.booleans())
    }
    return kind(**values)


def _suggestions() -> st.SearchStrategy[ItemSuggestion]:
    return st.builds(
        ItemSuggestion,
        item=st.sampled_from([i.id for i in CATALOG.items]),
        confidence=st.floats(0, 1),
        terms=st.lists(st.sampled_from(WORDS), max_size=2).map(tuple),
    )


def _messages(pools: Pools) -> st.SearchStrategy[InboundMessage]:
    """Mails and chat messages: new ones, replies to the request at hand (by thread or
    subject), from the requester or a stranger."""
    rid = pools.state.id
    ids = [f"m1.{rid}@mail", f"m2.{rid}@mail", f"chat.{rid}"]  # one request's: no other sees them
    return st.builds(
        InboundMessage,
        message_id=st.sampled_from(ids),
        sender=st.sampled_from(["erin.user@example.com", "mallory@example.com"]),
        subject=st.sampled_from(["", "phone broken", f"Re: [{rid}] still", "[EXT] hi"]) | _label,
        text=st.sampled_from(WORDS) | _text,
        in_reply_to=st.none() | st.sampled_from([ids[0], "nope@x"]),
        references=st.lists(st.sampled_from(ids), max_size=2).map(tuple),
        channel=_enum(Channel),
    )


def _odd_requesters() -> st.SearchStrategy[Any]:
    return st.builds(
        Requester,
        id=mixed(st.just("erin.user")).filter(lambda v: isinstance(v, str) and v != ""),
        name=_bad_text | _long_text,
        department=st.just("Finance"),
        location=st.just("HQ"),
        manager=st.none() | _bad_text,
    )


ARGUMENTS: Mapping[str, Callable[[Pools], st.SearchStrategy[Any]]] = {
    "request_id": _ids,
    "actor": lambda p: st.sampled_from(PEOPLE),
    "reason": lambda p: st.sampled_from(WORDS) | _text,
    "comment": lambda p: st.sampled_from(WORDS) | _text,
    "tracking": lambda p: st.none() | st.just("TRK-1") | _text,
    "asset_tag": lambda p: st.none() | st.just("AT-0042") | _label,
    "serial": lambda p: st.none() | st.just("SN-123") | _label,
    "reservation": lambda p: st.none() | stock_reservations(),
    "plugin": lambda p: st.none() | st.just("FakeInventory"),
    "release": lambda p: st.lists(
        st.builds(PluginReservation, st.just("FakeInventory"), stock_reservations()), max_size=2
    ).map(tuple),
    "failure": lambda p: st.none() | st.sampled_from(WORDS) | _text,
    "category": lambda p: st.none() | st.sampled_from(sorted(CATALOG.categories)) | _label,
    "task_key": lambda p: st.sampled_from(p.tasks),
    "item": lambda p: st.none() | st.sampled_from([i.id for i in CATALOG.items]),
    "group": lambda p: st.sampled_from([g.id for g in CATALOG.groups]),
    "agent": lambda p: st.none() | st.sampled_from(PEOPLE),
    "impact": lambda p: st.none() | _enum(Impact),
    "urgency": lambda p: st.none() | _enum(Urgency),
    "status": lambda p: _enum(OrderStatus),
    "channel": lambda p: _enum(Channel),
    "state": lambda p: st.none() | _enum(RequestState),
    "rating": lambda p: st.integers(0, 6),
    "supplier_id": lambda p: st.sampled_from(["acme-mobile", "globex"]),
    "ref": lambda p: st.sampled_from(p.refs),
    "requester": lambda p: st.just(demo_requester()) | requesters(),
    "answers": lambda p: st.none() | answer_tables(),
    "result": lambda p: st.just({"granted": True}),
    "limit": lambda p: st.none() | st.integers(0, 5),
    "since": lambda p: st.none() | st.just(p.state.created_at),
    "until": lambda p: st.none() | st.just(p.state.created_at + timedelta(days=1)),
    "by": lambda p: st.sampled_from(["item", "group", "agent"]),
    "groupings": lambda p: st.lists(st.sampled_from(["item", "group", "agent"]), max_size=3),
    "progress": lambda p: st.none() | st.just(lambda done, total: None),
    "opened_from": lambda p: st.none() | st.just(p.state.created_at),
    "opened_to": lambda p: st.none() | st.just(p.state.created_at + timedelta(days=1)),
    "cursor": lambda p: st.none(),  # a made-up one is junk: any text is refused
    "requester_id": lambda p: st.sampled_from([p.state.requester.id, "erin.user"]),
    "worker": lambda p: st.sampled_from(["worker-1", "w2"]),
    "effect_id": lambda p: st.sampled_from(p.effects),
    "effect_type": lambda p: st.sampled_from(["NotificationRequested", ""]),
    "effect_ids": lambda p: st.lists(st.sampled_from(p.effects), max_size=3),
    # record_and_claim: the effects the claim must take, all or nothing
    "require": lambda p: st.lists(st.sampled_from(p.effects), max_size=2),
    # get_many: the request at hand, ids no request has, repeats
    "request_ids": lambda p: st.lists(
        st.sampled_from([p.state.id, "REQ-NOPE", p.state.id.lower()]), max_size=4
    ),
    "command": _commands,
    "message_id": lambda p: st.sampled_from([f"m1.{p.state.id}@mail", f"m2.{p.state.id}@mail"]),
    "text": lambda p: st.sampled_from(WORDS) | _text,
    "suggestions": lambda p: st.lists(_suggestions(), max_size=3).map(tuple),
    "message": lambda p: _messages(p),
    "commands": lambda p: st.lists(_worker_commands(p), max_size=2),
    # subscribe: it writes nothing until run, so every call is refused or returns
    "name": lambda p: st.sampled_from(["board", "crm_sync", "Board_2"]),
    "handler": lambda p: st.sampled_from([_plain_handler, _tx_handler]),
    "after": lambda p: st.none() | st.integers(0, 10**6),
    "batch": lambda p: st.integers(1, 10_000),
    "lease": lambda p: st.just(timedelta(seconds=30)),
    "interval": lambda p: st.sampled_from([0.05, 1.0, 30]),
}
"""Per parameter name (and command field name), the values that fit the request."""


def _plain_handler(event: Any) -> None:
    """A subscription handler of the plain form."""


def _tx_handler(event: Any, tx: Any) -> None:
    """A subscription handler of the ``tx`` form."""


WRONG: Mapping[str, Callable[[Pools], st.SearchStrategy[Any]]] = {
    "requester": lambda p: _odd_requesters(),
    "answers": lambda p: _bad_tables,
    "result": lambda p: _bad_tables,
    "effect_ids": lambda p: st.lists(JUNK, min_size=1, max_size=2),
    "require": lambda p: st.lists(JUNK, min_size=1, max_size=2) | st.just("not-a-list"),
    "request_ids": lambda p: (
        st.lists(JUNK, min_size=1, max_size=2)
        | st.sampled_from([p.state.id, ["\x00"], ["x"] * 10_001])
    ),
    "state": lambda p: st.sampled_from(["\x00", "", "REQ-NOPE", "x" * 300, "\udc80"]).map(
        lambda rid: attrs.evolve(p.state, id=rid)
    ),
    "commands": lambda p: st.lists(_commands(p) | JUNK, min_size=1, max_size=2),
    "lease": lambda p: st.sampled_from([timedelta(0), timedelta(seconds=-1)]),
}
"""Per parameter name, wrong values of its own besides :data:`JUNK`."""


def _page_limit(p: Pools) -> st.SearchStrategy[Any]:
    return st.integers(1, 5) | st.just(10_000)


def _requester_id(p: Pools) -> st.SearchStrategy[Any]:
    return st.none() | st.sampled_from([p.state.requester.id, "erin.user"])


OVERRIDES: Mapping[tuple[str, str], Callable[[Pools], st.SearchStrategy[Any]]] = {
    ("record_outcomes", "state"): lambda p: st.just(p.state),
    # the queries page: a limit of 1 to 10,000, a requester by id
    ("requests", "limit"): _page_limit,
    ("requests_of", "limit"): _page_limit,
    ("queue", "limit"): _page_limit,
    ("requests", "requester"): _requester_id,
    ("queue", "requester"): _requester_id,
    ("record_and_claim", "state"): lambda p: st.just(p.state),
}
"""A parameter whose name means something else in one method."""


def wrong(name: str, pools: Pools) -> st.SearchStrategy[Any]:
    """Junk for parameter ``name``."""
    extra = WRONG.get(name)
    return JUNK if extra is None else JUNK | extra(pools)


def argument(name: str, method: str, pools: Pools) -> st.SearchStrategy[Any]:
    """A value that fits parameter (or command field) ``name`` of ``method``, or junk."""
    make = OVERRIDES.get((method, name)) or ARGUMENTS[name]
    return mixed(make(pools)) | wrong(name, pools)


def check_every_parameter_has_a_strategy() -> None:
    """Fail for a public method with a parameter nobody draws values for."""
    missing = [
        f"{method}({param.name})"
        for method in METHODS
        for param in parameters(method)
        if (method, param.name) not in OVERRIDES and param.name not in ARGUMENTS
    ]
    missing += [
        f"{kind.__name__}.{field.name}"
        for kind in lifecycle.commands()
        for field in attrs.fields(kind)
        if field.name not in ARGUMENTS
    ]
    assert not missing, f"no argument strategy for: {', '.join(missing)}"


@st.composite
def calls(draw: st.DrawFn, pools: Pools, method: str) -> dict[str, Any]:
    """Keyword arguments for one call of ``method``, the optional ones sometimes left out:
    all of them fitting the request (a third of the calls), one of them wrong (half), or
    each one wrong or not."""
    params = parameters(method)
    mode = draw(st.integers(0, 5))
    bad = draw(st.sampled_from([p.name for p in params])) if params and mode >= 2 else None
    found: dict[str, Any] = {}
    for param in params:
        optional = param.name != bad and param.default is not inspect.Parameter.empty
        if optional and draw(st.integers(0, 3)) == 0:
            continue
        make = OVERRIDES.get((method, param.name)) or ARGUMENTS[param.name]
        junk = param.name == bad or (mode == 5 and draw(st.booleans()))
        strategy = wrong(param.name, pools) if junk else make(pools)
        found[param.name] = draw(strategy, label=f"{method}.{param.name}")
    return found


# -- the stores and the oracle ----------------------------------------------------------------


def _relabel(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        if value == old:
            return new
        return new + value[len(old) :] if value.startswith(old + "/") else value
    if isinstance(value, dict):
        return {k: _relabel(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_relabel(v, old, new) for v in value]
    return value


def relabel(events: list[Event], new: str) -> list[Event]:
    """A drawn stream under request id ``new`` (every id it holds renamed with it)."""
    old = events[0].request_id
    return [event_from_dict(_relabel(event_to_dict(e), old, new)) for e in events]


class Untyped(Exception):
    """A call raised something other than a ``ReqfulfillError``."""

    def __init__(self, method: str, arguments: Mapping[str, Any], error: BaseException) -> None:
        frames = [
            f for f in traceback.extract_tb(error.__traceback__) if "reqfulfill" in f.filename
        ]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        self.signature = f"{method}: {type(error).__name__} at {where}"
        shown = {k: _short(v) for k, v in arguments.items()}
        super().__init__(f"{self.signature}: {error!r:.300} with {shown}")


def _short(value: Any) -> str:
    from reqfulfill.model.errors import short_repr

    return short_repr(value, 60)


@attrs.define
class Tally:
    """What a run tried: inputs, refusals, acceptances, untyped errors by signature."""

    inputs: int = 0
    refused: int = 0
    accepted: int = 0
    untyped: dict[str, int] = attrs.field(factory=dict)
    examples: dict[str, str] = attrs.field(factory=dict)

    def untyped_count(self) -> int:
        return sum(self.untyped.values())


class Bench:
    """One store as two services see it: ``acting`` (the one called) and, for every check,
    a fresh one on ``observer`` (the same store object for ``memory://``, a second
    connection to the same database otherwise)."""

    def __init__(self, acting: Store, observer: Store) -> None:
        self.acting_store = acting
        self.observer = observer
        self.clock = FixedClock(datetime(2020, 1, 1, tzinfo=UTC))
        self.prefix = uuid.uuid4().hex[:8].upper()
        self.count = 0
        self.next_id = ""
        self.service = self._service(acting, self.clock, self._new_id)

    def _new_id(self) -> str:
        return self.next_id

    @staticmethod
    def _service(
        store: Store, clock: FixedClock, id_factory: Callable[[], str] | None = None
    ) -> FulfillmentService:
        return FulfillmentService(
            CATALOG,
            sla=SLA,
            store=store,
            clock=clock,
            load_entrypoints=False,
            id_factory=id_factory,
        )

    def fresh(self) -> FulfillmentService:
        """A service that has read nothing yet."""
        return self._service(self.observer, FixedClock(self.clock.now()))

    def plant(self, events: list[Event], state: ServiceRequest) -> Pools:
        """The drawn stream appended under a request id of its own; the clock after it."""
        self.count += 1
        rid = f"REQ-{self.prefix}-{self.count}"
        stream = relabel(events, rid)
        planted = lifecycle.replay(stream)
        timers = current_timers(planted, sla=SLA, close_after=None)
        self.acting_store.append(rid, stream, 0, summary=RequestSummary.of(planted), timers=timers)
        if stream[-1].at > self.clock.now():
            self.clock.set(stream[-1].at + timedelta(minutes=1))
        assert planted.version == state.version
        return Pools.of(planted)

    def call(self, method: str, arguments: dict[str, Any], pools: Pools, tally: Tally) -> None:
        """Call ``method`` and check the oracle; raise :class:`Untyped` or ``AssertionError``."""
        rid = pools.request_id
        self.count += 1
        self.next_id = f"REQ-{self.prefix}-{self.count}"
        new_id = arguments.get("request_id") if method == "submit" else None
        if method == "submit" and new_id is None:
            new_id = self.next_id
        watched = [rid]
        if isinstance(new_id, str) and _storable(new_id) and new_id != rid:
            watched.append(new_id)  # the request a submit would create
        before = [self.observer.load(one) for one in watched]
        tally.inputs += 1
        try:
            result = getattr(self.service, method)(**arguments)
        except ReqfulfillError:
            tally.refused += 1
            after = [self.observer.load(one) for one in watched]
            assert after == before, f"{method} was refused but wrote: {arguments}"
            self._loads_equal(rid)
            return
        except Exception as error:  # the oracle's point: anything else is a bug
            signature = Untyped(method, arguments, error)
            tally.untyped[signature.signature] = tally.untyped.get(signature.signature, 0) + 1
            tally.examples.setdefault(signature.signature, str(signature))
            raise signature from error
        tally.accepted += 1
        for request in _returned(result):
            self._loads_equal(request.id, request)
        self._loads_equal(rid)

    def _loads_equal(self, request_id: str, expected: ServiceRequest | None = None) -> None:
        fresh = self.fresh()
        loaded = fresh.get(request_id)
        history = fresh.history(request_id)
        assert lifecycle.replay(history) == loaded
        assert loaded == (expected or self.service.get(request_id)), (
            f"{request_id}: a fresh service loads another state than the one returned"
        )


def _storable(value: str) -> bool:
    from reqfulfill.serialization.arguments import string_problem

    return string_problem(value, "") is None and value != ""


def _returned(result: object) -> Iterator[ServiceRequest]:
    """The requests a method returned (alone, in a list, or with the effects' events)."""
    if isinstance(result, ServiceRequest):
        yield result
    elif isinstance(result, tuple) and result and isinstance(result[0], ServiceRequest):
        yield result[0]
    elif isinstance(result, list):
        yield from (r for r in result if isinstance(r, ServiceRequest))


@st.composite
def scenarios(draw: st.DrawFn, max_steps: int = 12) -> tuple[list[Event], ServiceRequest]:
    """A reachable request of the demo catalog: its stream and its state."""
    return draw(histories(catalog=CATALOG, sla=SLA, max_steps=max_steps))
