"""The PostgreSQL store's schema: its migration steps, by the version they lead to.

:meth:`reqfulfill.stores.postgres.PostgresStore.upgrade` runs the steps after the
database's version, each in the transaction that records it. Never edit a released
step: add one.
"""

from __future__ import annotations

from reqfulfill.stores._query_sql import FACTS_SOURCE_MIGRATION, FACTS_TABLE, QUERY_INDEXES
from reqfulfill.stores.postgres_approvals import APPROVALS_MIGRATION
from reqfulfill.stores.postgres_rollup import ROLLUP_MIGRATION

__all__ = ["FEED_MIGRATION", "MIGRATIONS"]

# Schema step: a global position for every event, filled in for the events already
# stored in the order they were recorded (each stream's running latest ``at``, so a
# request's events keep their order even if its clock went back; ties by request and
# version), the counter appends draw from, and the subscriptions.
FEED_MIGRATION: tuple[str, ...] = (
    "ALTER TABLE rf_events ADD COLUMN position bigint",
    """UPDATE rf_events AS e SET position = ranked.position FROM (
        SELECT request_id, version,
            row_number() OVER (ORDER BY reach, request_id, version) AS position
        FROM (SELECT request_id, version,
                max(at) OVER (PARTITION BY request_id ORDER BY version) AS reach
              FROM rf_events) AS r
    ) AS ranked
    WHERE e.request_id = ranked.request_id AND e.version = ranked.version""",
    "ALTER TABLE rf_events ALTER COLUMN position SET NOT NULL",
    "CREATE UNIQUE INDEX rf_events_position ON rf_events (position)",
    """CREATE TABLE rf_feed (
        id integer PRIMARY KEY CHECK (id = 1),
        last_position bigint NOT NULL
    )""",
    "INSERT INTO rf_feed (id, last_position) SELECT 1, coalesce(max(position), 0) FROM rf_events",
    """CREATE TABLE rf_subscriptions (
        name text PRIMARY KEY,
        position bigint NOT NULL,
        lease_owner text,
        lease_until bigint
    )""",
)

# The indexes of the portal's queries (keyset order) and the metric facts, one row per
# request; the rows of requests stored before are rebuilt from their histories (stale).
_QUERIES_MIGRATION = (*QUERY_INDEXES, *FACTS_TABLE)

_MESSAGES_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE rf_messages (
        message_id text PRIMARY KEY,
        request_id text NOT NULL
    )""",
)
"""Message id -> request id (``stores.postgres_messages``): a mail delivered twice makes
one request, in every process."""

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE rf_events (
            request_id text NOT NULL,
            version integer NOT NULL,
            event_id text NOT NULL,
            type text NOT NULL,
            at bigint NOT NULL,
            payload text NOT NULL,
            CONSTRAINT rf_events_pkey PRIMARY KEY (request_id, version),
            CONSTRAINT rf_events_event_id_key UNIQUE (event_id)
        )""",
        """CREATE TABLE rf_requests (
            request_id text PRIMARY KEY,
            state text NOT NULL,
            grp text,
            agent text,
            item text,
            requester text NOT NULL,
            priority integer,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            version integer NOT NULL
        )""",
        "CREATE INDEX rf_requests_queue ON rf_requests (grp, state, created_at)",
        "CREATE INDEX rf_requests_agent ON rf_requests (agent, state)",
        "CREATE INDEX rf_requests_requester ON rf_requests (requester, created_at)",
        "CREATE INDEX rf_requests_created ON rf_requests (created_at, request_id)",
        """CREATE TABLE rf_orders (
            supplier_id text NOT NULL,
            ref text NOT NULL,
            request_id text NOT NULL,
            PRIMARY KEY (supplier_id, ref)
        )""",
        """CREATE TABLE rf_outbox (
            effect_id text PRIMARY KEY,
            request_id text NOT NULL,
            kind text NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            available_at bigint NOT NULL,
            lease_until bigint,
            worker text,
            last_error text
        )""",
        "CREATE INDEX rf_outbox_due ON rf_outbox (available_at, effect_id)",
        """CREATE TABLE rf_timers (
            request_id text NOT NULL,
            key text NOT NULL,
            due bigint NOT NULL,
            PRIMARY KEY (request_id, key)
        )""",
        "CREATE INDEX rf_timers_due ON rf_timers (due)",
    ),
    # The expected-version check of an append, inside the database, run after the
    # append's writes: an append then sends every statement and its COMMIT without
    # waiting for an answer in between (see PostgresStore._append).
    2: (
        """CREATE FUNCTION rf_check_append(
            p_request_id text, p_expected integer, p_found integer,
            p_inserted integer, p_count integer
        ) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            IF p_found <> p_expected OR p_inserted <> p_count THEN
                RAISE EXCEPTION 'request %: expected version %, found %',
                    p_request_id, p_expected,
                    CASE WHEN p_found = p_expected THEN 'a concurrent write'
                         ELSE p_found::text END
                    USING ERRCODE = 'RF409',
                          DETAIL = CASE WHEN p_found = p_expected THEN ''
                                        ELSE p_found::text END;
            END IF;
        END $$""",
    ),
    # the position of an effect's event in its stream, so a request's effects are
    # claimed in stream order ("REQ-1/9" before "REQ-1/11"); filled from the events
    # for the entries already waiting
    3: (
        "ALTER TABLE rf_outbox ADD COLUMN version integer NOT NULL DEFAULT 0",
        "UPDATE rf_outbox AS o SET version = e.version FROM rf_events AS e"
        " WHERE e.event_id = o.effect_id",
        "DROP INDEX rf_outbox_due",
        "CREATE INDEX rf_outbox_due ON rf_outbox (available_at, request_id, version)",
    ),
    # the change feed: a global position per event, subscriptions (stores.postgres_feed)
    4: FEED_MIGRATION,
    # the portal's query indexes and the metric facts (stores._query_sql)
    5: _QUERIES_MIGRATION,
    # who each request waits for: the index of pending_approvals (issue 17)
    6: APPROVALS_MIGRATION,
    # message id -> request id: a mail delivered twice makes one request (issue 19)
    7: _MESSAGES_MIGRATION,
    # where each request's item came from: the facts' source (stores._query_sql)
    8: FACTS_SOURCE_MIGRATION,
    # the metric rollup and the facts rows' catch-up marks (stores.postgres_rollup)
    9: ROLLUP_MIGRATION,
}
