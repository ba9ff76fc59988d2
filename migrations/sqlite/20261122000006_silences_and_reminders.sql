-- People and reminders: acknowledgements, silences, and notifications that are held or repeat.

-- When the current alarm episode's message last went out (NULL: not yet, e.g. it was held);
-- reminders are due `repeat` after it. Cleared when the alarm leaves the alarm state.
ALTER TABLE alarm_states ADD COLUMN notified_at INTEGER;
-- Alarms firing at the upgrade were notified when they began: not again.
UPDATE alarm_states SET notified_at = since WHERE state = 'alarm';
-- An acknowledgement holds reminders until the alarm leaves the alarm state.
ALTER TABLE alarm_states ADD COLUMN acked_by TEXT;
ALTER TABLE alarm_states ADD COLUMN acked_at INTEGER;
ALTER TABLE alarm_states ADD COLUMN ack_comment TEXT;

-- A silence holds notifications of what it matches: one alarm state (state_id), or an alarm
-- name and/or a target glob. It ends at until_at, or (until_at NULL, state_id set) when that
-- alarm resolves, or when someone expires it (ended_at).
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    state_id   INTEGER REFERENCES alarm_states (id),
    alarm      TEXT,
    target     TEXT,
    until_at   INTEGER,
    comment    TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    ended_at   INTEGER,
    ended_by   TEXT
);
CREATE INDEX silences_active ON silences (ended_at, until_at);

-- Notifications gain a sequence number per transition and notifier (0: the transition's own
-- message; 1, 2…: reminders and messages released after a hold), and a hold: a held row
-- (state 'held') is recorded for the history but never sent. SQLite cannot change a UNIQUE
-- constraint in place, hence the copy.
CREATE TABLE notifications_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    transition_id   INTEGER NOT NULL REFERENCES alarm_transitions (id),
    notifier        TEXT    NOT NULL,
    seq             INTEGER NOT NULL DEFAULT 0,
    -- alarm | reminder | resolved
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    -- pending | delivered | failed | held
    state           TEXT    NOT NULL,
    held_by         TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (transition_id, notifier, seq)
);
INSERT INTO notifications_new (id, transition_id, notifier, seq, kind, payload, state, attempts, next_attempt_at, last_error, created_at, delivered_at)
    SELECT id, transition_id, notifier, 0, kind, payload, state, attempts, next_attempt_at, last_error, created_at, delivered_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);
