"""The PostgreSQL event store's SQL: its schema, its migrations, and the statements of the event
path, in PostgreSQL's own ``$n`` placeholders (so any driver runs them as they are).

Event ids are cursors that never skip (ARCHITECTURE.md, "Cursors"): an event's id is the id of
the transaction that stored it, times ``2**ORDINAL_BITS``, plus its place in that transaction's
batch; and readers only read below :data:`HORIZON`, the oldest transaction still running.
Every transaction below it has ended, so no event with a smaller id can commit after a reader
has passed it, whichever instance stores it.
"""

from __future__ import annotations

from vcall import answer_requests
from vcall.events import COLUMNS

#: Bits of an id that number the events of one transaction: a batch holds at most
#: ``MAX_STATEMENT`` events.
ORDINAL_BITS = 12
MAX_STATEMENT = 2**ORDINAL_BITS - 1
#: The channel a commit of events notifies (a statement trigger), waking every instance's
#: readers.
CHANNEL = "vcall_events"

#: The smallest id a transaction still running (or starting later) can give an event: every
#: row below it is committed and visible, or will never be.
HORIZON = f"(SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << {ORDINAL_BITS})"

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS vcall_migrations (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
#: Taken (for the transaction) while the schema is checked and migrated, so that instances
#: starting together migrate one at a time.
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('vcall_migrations'))"
CREATE_MIGRATIONS = _MIGRATIONS_TABLE
APPLIED = "SELECT coalesce(max(version), 0) FROM vcall_migrations"
RECORD_MIGRATION = "INSERT INTO vcall_migrations (version) VALUES ($1)"
#: Tables of these names made by something else are not vcall's to take over.
OWN_TABLES = ("events", "rejected", "answers")
EXISTING_TABLES = (
    "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = current_schema() AND table_name = ANY($1::text[])"
)

#: Schema changes, in order; ``vcall_migrations`` records which ran.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # received_at is the same ISO-8601 text as in the SQLite store.
        """CREATE TABLE events (
            id bigint PRIMARY KEY,
            received_at text NOT NULL,
            conversation_uuid text,
            uuid text NOT NULL,
            status text NOT NULL,
            direction text,
            "from" text,
            "to" text,
            timestamp text,
            duration text,
            price text,
            dedupe_key text NOT NULL UNIQUE,
            raw bytea NOT NULL
        )""",
        "CREATE INDEX events_conversation ON events (conversation_uuid, id)",
        """CREATE TABLE rejected (
            id bigserial PRIMARY KEY,
            received_at text NOT NULL,
            reason text NOT NULL,
            method text NOT NULL,
            path text NOT NULL,
            content_type text,
            body bytea NOT NULL
        )""",
        # Once per statement, not per row: a batch wakes the readers once. Any writer (another
        # vcall, a tool inserting events) wakes them the same way.
        f"""CREATE FUNCTION vcall_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER events_notify AFTER INSERT ON events
            FOR EACH STATEMENT EXECUTE FUNCTION vcall_events_notify()""",
    ),
    (
        # Answer requests (vcall.answer_requests), found by arrival time (see its around()).
        """CREATE TABLE answers (
            id bigserial PRIMARY KEY,
            received_at text NOT NULL,
            conversation_uuid text,
            uuid text,
            path text NOT NULL,
            method text NOT NULL,
            query text NOT NULL,
            body bytea,
            signature text NOT NULL,
            status integer NOT NULL,
            response bytea NOT NULL,
            took_ms double precision NOT NULL
        )""",
        "CREATE INDEX answers_received ON answers (received_at)",
    ),
)

RAW = COLUMNS[-1]
#: The event's fields (vcall.events.COLUMNS: after the id and arrival time), as columns and
#: as the types of the arrays a batch comes in (the raw body is bytes, the rest text).
_FIELDS = ", ".join(COLUMNS[2:])
_ARRAYS = ", ".join(
    f"${n}::{'bytea' if column == RAW else 'text'}[]" for n, column in enumerate(COLUMNS[2:], 2)
)
#: A whole batch in one statement (one round trip, its own transaction): one array per
#: column, each event numbered by its place. Rows go in ordered by dedupe key, so two
#: instances inserting the same events wait for each other in one order (never a deadlock);
#: a repeat delivery, also one another instance is inserting at this moment, is skipped by the
#: unique key. Returns the ids stored (each one's ordinal is ``id % 2**ORDINAL_BITS``).
INSERT_EVENTS = f"""
INSERT INTO events ({", ".join(COLUMNS)})
SELECT (pg_current_xact_id()::text::bigint << {ORDINAL_BITS}) + e.n, $1, {_FIELDS}
FROM unnest({_ARRAYS}) WITH ORDINALITY AS e({_FIELDS}, n)
ORDER BY e."dedupe_key"
ON CONFLICT ("dedupe_key") DO NOTHING
RETURNING id"""
#: Refused bodies, one batch a statement; their ids come from the sequence in input order.
INSERT_REJECTED = """
INSERT INTO rejected (received_at, reason, method, path, content_type, body)
SELECT $1, r.reason, r.method, r.path, r.content_type, r.body
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[])
     WITH ORDINALITY AS r(reason, method, path, content_type, body, n)
ORDER BY r.n
RETURNING id"""

#: What reads select: every column of a StoredEvent, in order.
EVENT_COLUMNS = ", ".join(COLUMNS)
#: One page of events after a cursor, below the horizon. Always one row at least: the first
#: two columns are the horizon and the newest id stored (with the same snapshot), then the
#: event's columns (NULL when the page is empty). ``newest >= horizon`` means events are
#: committed that the horizon still holds back (a transaction older than theirs is running).
_PAGE = f"""
SELECT h.horizon, h.newest, e.*
FROM (SELECT {HORIZON} AS horizon, (SELECT max(id) FROM events) AS newest) AS h
LEFT JOIN LATERAL (
    SELECT {EVENT_COLUMNS} FROM events
    WHERE id > $1 AND id < h.horizon{{where}}
    ORDER BY id LIMIT $2
) AS e ON true"""
PAGE = _PAGE.format(where="")
PAGE_OF_CONVERSATION = _PAGE.format(where=" AND conversation_uuid = $3")
LAST = f"SELECT {EVENT_COLUMNS} FROM events WHERE id < {HORIZON}{{where}} ORDER BY id DESC LIMIT $1"
LAST_ALL = LAST.format(where="")
LAST_OF_CONVERSATION = LAST.format(where=" AND conversation_uuid = $2")
BY_ID = f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ANY($1::bigint[]) ORDER BY id"
COUNT = "SELECT count(*) FROM events"
REJECTED = (
    "SELECT id, received_at, reason, method, path, content_type, body FROM rejected "
    "ORDER BY id DESC LIMIT $1"
)

_ANSWER_FIELDS = answer_requests.COLUMNS[1:]
_ANSWER_TYPES = {"body": "bytea", "response": "bytea", "status": "integer", "took_ms": "float8"}
_ANSWER_ARRAYS = ", ".join(
    f"${n}::{_ANSWER_TYPES.get(name, 'text')}[]" for n, name in enumerate(_ANSWER_FIELDS, 1)
)
#: A batch of answer requests in one statement, one array per column, in arrival order.
INSERT_ANSWERS = f"""
INSERT INTO answers ({", ".join(_ANSWER_FIELDS)})
SELECT {", ".join(f"a.{name}" for name in _ANSWER_FIELDS)}
FROM unnest({_ANSWER_ARRAYS}) WITH ORDINALITY AS a({", ".join(_ANSWER_FIELDS)}, n)
ORDER BY a.n"""
ANSWERS = (
    f"SELECT {', '.join(answer_requests.COLUMNS)} FROM answers "
    "WHERE received_at BETWEEN $1 AND $2 AND conversation_uuid = $3 ORDER BY id"
)
#: The inspector's reads (vcall.calls): not bounded by the horizon, as no cursor follows them.
RECENT = "SELECT id, conversation_uuid FROM events WHERE id < $1 ORDER BY id DESC LIMIT $2"
CALLS_EVENTS = f"""
SELECT e.* FROM unnest($1::text[]) AS c(conversation)
CROSS JOIN LATERAL (
    SELECT {EVENT_COLUMNS} FROM events WHERE conversation_uuid = c.conversation
    ORDER BY id DESC LIMIT $2
) AS e
ORDER BY e.id"""
LEG_CONVERSATION = "SELECT conversation_uuid FROM events WHERE uuid = $1 ORDER BY id DESC LIMIT 1"
