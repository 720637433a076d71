-- The events table as vcall 0.1 made it (AUTOINCREMENT ids; dedupe keys uuid|status|timestamp).
-- Frozen: the upgrade test opens a store made with it.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    conversation_uuid TEXT,
    uuid TEXT NOT NULL,
    status TEXT NOT NULL,
    direction TEXT,
    "from" TEXT,
    "to" TEXT,
    timestamp TEXT,
    duration TEXT,
    price TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    raw BLOB NOT NULL
);
CREATE INDEX events_conversation ON events (conversation_uuid, id);
