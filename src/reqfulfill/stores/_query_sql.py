"""The SQL of the request queries and the metric facts, shared by the SQL stores.

Statements are constant texts written with ``?`` placeholders (SQLite's);
:func:`pg` turns one into PostgreSQL's ``%s`` form. A query's filters pick among
fixed column names; values always go as parameters.

Indexes (schema step "queries", see ``QUERIES_MIGRATION`` of each store): every
filter a portal combines is an equality prefix followed by ``(created_at,
request_id)``, the keyset order, so a page is one index range scan of ``limit`` rows:

- ``(grp, state, ...)``, ``(agent, state, ...)``, ``(item, state, ...)``: a queue of a
  group, an agent or an item in one state (several states: one scan per state,
  merged in one statement, see :func:`query_sql`);
- ``(state, ...)``, ``(requester, ...)`` and ``(created_at, request_id)`` alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from reqfulfill.model.errors import ValidationError
from reqfulfill.stores._base import RequestSummary, from_micros, query_states, to_micros
from reqfulfill.stores._facts import MetricFacts

__all__ = [
    "FACTS_SOURCE_MIGRATION",
    "FACTS_TABLE",
    "QUERY_INDEXES",
    "REBUILD_FACTS",
    "STALE_FACTS",
    "UPSERT_FACTS",
    "facts_params",
    "metric_queries",
    "pg",
    "query_sql",
    "rebuild_params",
    "summary_of_row",
    "window_params",
]

# The rf_requests indexes of the queries step (both stores; PostgreSQL drops its older
# requester and created indexes first).
QUERY_INDEXES = (
    "DROP INDEX IF EXISTS rf_requests_queue",
    "DROP INDEX IF EXISTS rf_requests_agent",
    "DROP INDEX IF EXISTS rf_requests_requester",
    "DROP INDEX IF EXISTS rf_requests_created",
    "CREATE INDEX rf_requests_queue ON rf_requests (grp, state, created_at, request_id)",
    "CREATE INDEX rf_requests_agent ON rf_requests (agent, state, created_at, request_id)",
    "CREATE INDEX rf_requests_item ON rf_requests (item, state, created_at, request_id)",
    "CREATE INDEX rf_requests_state ON rf_requests (state, created_at, request_id)",
    "CREATE INDEX rf_requests_requester ON rf_requests (requester, created_at, request_id)",
    "CREATE INDEX rf_requests_created ON rf_requests (created_at, request_id)",
)

# One row per request: what the metrics read (the dimensions copied from the summary,
# so a window's tally reads this table alone). ``stale`` marks the rows of requests
# stored before the facts were kept: rebuilt by replaying their histories.
FACTS_TABLE = (
    """CREATE TABLE rf_request_facts (
        request_id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        item TEXT,
        grp TEXT,
        agent TEXT,
        closed SMALLINT NOT NULL,
        assign_ch BIGINT,
        fulfil_ch BIGINT,
        sla_met SMALLINT,
        rating SMALLINT,
        escalations INTEGER NOT NULL,
        surveyed SMALLINT,
        stale SMALLINT NOT NULL
    )""",
    "INSERT INTO rf_request_facts (request_id, created_at, item, grp, agent, closed,"
    " escalations, stale) SELECT request_id, created_at, item, grp, agent,"
    " CASE WHEN state = 'closed' THEN 1 ELSE 0 END, 0, 1 FROM rf_requests",
    "CREATE INDEX rf_request_facts_created ON rf_request_facts (created_at)",
    "CREATE INDEX rf_request_facts_stale ON rf_request_facts (request_id) WHERE stale = 1",
)

# Schema step (SQLite 7, PostgreSQL 8): where each request's item came from
# (``_facts.source_of``), a facts column. The rows of the requests already fulfilled
# are marked stale, so ``reqfulfill db upgrade`` (else the first metrics call) replays
# their histories to fill it in, as it builds the facts of old stores.
FACTS_SOURCE_MIGRATION = (
    "ALTER TABLE rf_request_facts ADD COLUMN source TEXT",
    "UPDATE rf_request_facts SET stale = 1 WHERE fulfil_ch IS NOT NULL",
)

# An append's facts, merged into the row (see MetricFacts), marked for the rollup's
# catch-up (``rolled = 0``, ``seq`` bumped: see stores._rollup).
UPSERT_FACTS = (
    "INSERT INTO rf_request_facts AS f (request_id, created_at, item, grp, agent, closed,"
    " assign_ch, fulfil_ch, sla_met, rating, escalations, surveyed, source, stale)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
    " ON CONFLICT (request_id) DO UPDATE SET item = excluded.item, grp = excluded.grp,"
    " agent = excluded.agent, closed = excluded.closed,"
    " assign_ch = coalesce(f.assign_ch, excluded.assign_ch),"
    " fulfil_ch = excluded.fulfil_ch, sla_met = excluded.sla_met, rating = excluded.rating,"
    " escalations = f.escalations + excluded.escalations,"
    " surveyed = coalesce(excluded.surveyed, f.surveyed), source = excluded.source,"
    " rolled = 0, seq = f.seq + 1"
)

STALE_FACTS = "SELECT request_id FROM rf_request_facts WHERE stale = 1 ORDER BY request_id LIMIT ?"

# Whole facts from a replay of the first ``version`` events, if the stream is still there.
REBUILD_FACTS = (
    "UPDATE rf_request_facts SET assign_ch = ?, fulfil_ch = ?, sla_met = ?, rating = ?,"
    " escalations = ?, surveyed = ?, source = ?, stale = 0, rolled = 0, seq = seq + 1"
    " WHERE request_id = ?"
    " AND (SELECT r.version FROM rf_requests AS r WHERE r.request_id = ?) = ?"
)

_WINDOW = " FROM rf_request_facts WHERE created_at >= ? AND created_at < ?"


def _metric_queries(column: str) -> tuple[str, str, str]:
    counters = (
        f"SELECT {column}, count(*),"
        " sum(CASE WHEN sla_met IS NOT NULL THEN 1 ELSE 0 END),"
        " sum(CASE WHEN sla_met = 1 THEN 1 ELSE 0 END),"
        " sum(escalations),"
        " sum(CASE WHEN closed = 1 AND rating IS NOT NULL THEN 1 ELSE 0 END),"
        " sum(CASE WHEN closed = 1 AND rating IS NOT NULL THEN rating ELSE 0 END),"
        " sum(CASE WHEN closed = 1 AND surveyed = 1 THEN 1 ELSE 0 END),"
        " sum(CASE WHEN closed = 1 AND surveyed = 1 AND rating IS NOT NULL THEN 1 ELSE 0 END)"
        f"{_WINDOW} GROUP BY {column}"
    )
    assign = (
        f"SELECT {column}, assign_ch, count(*){_WINDOW} AND assign_ch IS NOT NULL"
        f" GROUP BY {column}, assign_ch"
    )
    # split by source: the per-source counts and histograms come with the one scan
    fulfil = (
        f"SELECT {column}, source, fulfil_ch, count(*){_WINDOW} AND fulfil_ch IS NOT NULL"
        f" GROUP BY {column}, source, fulfil_ch"
    )
    return counters, assign, fulfil


_METRIC_QUERIES: dict[str, tuple[str, str, str]] = {
    by: _metric_queries(column)
    for by, column in (("item", "item"), ("group", "grp"), ("agent", "agent"))
}


def metric_queries(by: str) -> tuple[str, str, str]:
    """The counters and the two histograms (assign; fulfil, per source) of a tally by
    ``by`` (``"item"``, ``"group"`` or ``"agent"``; else a ``ValidationError``): the
    rows :func:`~reqfulfill.stores._facts.tally_rows` reads."""
    try:
        return _METRIC_QUERIES[by]
    except (KeyError, TypeError):
        raise ValidationError.single(
            "by", by, "group metrics by 'item', 'group' or 'agent'"
        ) from None


_NO_LIMIT = (-(1 << 62), 1 << 62)


def window_params(since: datetime | None, until: datetime | None) -> tuple[int, int]:
    """The ``created_at`` bounds of a window in micros (open ends as far as they go)."""
    return (
        _NO_LIMIT[0] if since is None else to_micros(since),
        _NO_LIMIT[1] if until is None else to_micros(until),
    )


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def facts_params(s: RequestSummary) -> tuple[Any, ...]:
    """The parameters of :data:`UPSERT_FACTS` for a summary."""
    f = s.facts
    return (
        s.request_id,
        to_micros(s.created_at),
        s.item,
        s.group,
        s.agent,
        int(s.state == "closed"),
        f.assign_ch,
        f.fulfil_ch,
        _flag(f.sla_met),
        f.rating,
        f.escalations,
        _flag(f.surveyed),
        f.source,
    )


def rebuild_params(request_id: str, version: int, f: MetricFacts) -> tuple[Any, ...]:
    """The parameters of :data:`REBUILD_FACTS`."""
    return (
        f.assign_ch,
        f.fulfil_ch,
        _flag(f.sla_met),
        f.rating,
        f.escalations,
        _flag(f.surveyed),
        f.source,
        request_id,
        request_id,
        version,
    )


_COLUMNS = (
    "SELECT request_id, state, grp, agent, item, requester, priority, created_at, updated_at"
    " FROM rf_requests"
)


def query_sql(
    columns: Mapping[str, str | None],
    state: str | None,
    states: Sequence[str] | None,
    opened_from: datetime | None,
    opened_to: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int | None,
) -> tuple[str, list[object]]:
    """A query's statement (``?`` placeholders) and parameters: ``columns`` maps a
    fixed column name to the value it must equal (None: no filter); ``state`` and
    ``states`` as :meth:`Store.query <reqfulfill.stores.Store.query>` takes them
    (checked by :func:`~reqfulfill.stores._base.query_states`).

    Several states are one statement of one subquery per state (each an index range
    scan of at most ``limit`` rows) under one ``ORDER BY ... LIMIT``: PostgreSQL
    merges the scans (a Merge Append that stops after ``limit`` rows), SQLite sorts
    at most ``limit`` rows per state. An ``IN`` list would read every match.
    """
    arms: list[str] = []
    params: list[object] = []
    for one in query_states(state, states):
        arm, arm_params = _scan(columns, one, opened_from, opened_to, after, limit)
        arms.append(arm)
        params += arm_params
    if len(arms) == 1:
        return arms[0], params
    # the arms are constant texts of fixed column names: every value is a parameter
    scans = (f"SELECT * FROM ({arm}) AS s{i}" for i, arm in enumerate(arms))  # noqa: S608
    sql = " UNION ALL ".join(scans)
    sql += " ORDER BY created_at, request_id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return sql, params


def _scan(
    columns: Mapping[str, str | None],
    state: str | None,
    opened_from: datetime | None,
    opened_to: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int | None,
) -> tuple[str, list[object]]:
    """One index range scan's statement and parameters (one state, or any)."""
    clauses: list[str] = []
    params: list[object] = []
    for column, value in (*columns.items(), ("state", state)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if opened_from is not None:
        clauses.append("created_at >= ?")
        params.append(to_micros(opened_from))
    if opened_to is not None:
        clauses.append("created_at < ?")
        params.append(to_micros(opened_to))
    if after is not None:
        clauses.append("(created_at, request_id) > (?, ?)")
        params += [to_micros(after[0]), after[1]]
    sql = _COLUMNS
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY created_at, request_id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return sql, params


def summary_of_row(r: Sequence[Any]) -> RequestSummary:
    """A summary from a row of :func:`query_sql`."""
    return RequestSummary(
        request_id=r[0],
        state=r[1],
        group=r[2],
        agent=r[3],
        item=r[4],
        requester=r[5],
        priority=r[6],
        created_at=from_micros(r[7]),
        updated_at=from_micros(r[8]),
    )


def pg(statement: str) -> str:
    """A statement in PostgreSQL's placeholder style (the texts here hold no ``%``)."""
    return statement.replace("?", "%s")
