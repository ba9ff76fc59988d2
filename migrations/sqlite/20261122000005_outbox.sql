-- The notification outbox: written in the same transaction as the alarm transition that
-- causes it, delivered by a worker with retries. A row is marked delivered right after the
-- receiver accepted it, so a retry never resends what was delivered; the delivery id is sent
-- along so a receiver can drop the rare duplicate of a crash between the two.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    transition_id   INTEGER NOT NULL REFERENCES alarm_transitions (id),
    notifier        TEXT    NOT NULL,
    -- alarm | resolved
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    -- pending | delivered | failed
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (transition_id, notifier)
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);
