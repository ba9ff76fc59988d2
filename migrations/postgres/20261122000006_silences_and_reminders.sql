-- People and reminders: acknowledgements, silences, and notifications that are held or repeat.

-- When the current alarm episode's message last went out (NULL: not yet, e.g. it was held);
-- reminders are due `repeat` after it. Cleared when the alarm leaves the alarm state.
ALTER TABLE alarm_states ADD COLUMN notified_at BIGINT;
-- Alarms firing at the upgrade were notified when they began: not again.
UPDATE alarm_states SET notified_at = since WHERE state = 'alarm';
-- An acknowledgement holds reminders until the alarm leaves the alarm state.
ALTER TABLE alarm_states ADD COLUMN acked_by TEXT;
ALTER TABLE alarm_states ADD COLUMN acked_at BIGINT;
ALTER TABLE alarm_states ADD COLUMN ack_comment TEXT;

-- A silence holds notifications of what it matches: one alarm state (state_id), or an alarm
-- name and/or a target glob. It ends at until_at, or (until_at NULL, state_id set) when that
-- alarm resolves, or when someone expires it (ended_at).
CREATE TABLE silences (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state_id   BIGINT REFERENCES alarm_states (id),
    alarm      TEXT,
    target     TEXT,
    until_at   BIGINT,
    comment    TEXT   NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    ended_at   BIGINT,
    ended_by   TEXT
);
CREATE INDEX silences_active ON silences (ended_at, until_at);

-- Notifications gain a sequence number per transition and notifier (0: the transition's own
-- message; 1, 2…: reminders and messages released after a hold), and a hold: a held row
-- (state 'held') is recorded for the history but never sent.
ALTER TABLE notifications ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN held_by TEXT;
ALTER TABLE notifications DROP CONSTRAINT notifications_transition_id_notifier_key;
ALTER TABLE notifications ADD CONSTRAINT notifications_transition_notifier_seq UNIQUE (transition_id, notifier, seq);
