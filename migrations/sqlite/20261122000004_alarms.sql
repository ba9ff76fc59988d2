-- One state per (alarm, target): an alarm over a glob of targets has one state per target.
CREATE TABLE alarm_states (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm        TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    -- ok | alarm | insufficient_data
    state        TEXT    NOT NULL,
    since        INTEGER NOT NULL,
    evaluated_at INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    UNIQUE (alarm, target)
);

-- Every change of state, with the periods and verdicts that caused it.
CREATE TABLE alarm_transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    state_id   INTEGER NOT NULL REFERENCES alarm_states (id),
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    evaluation TEXT    NOT NULL
);
CREATE INDEX alarm_transitions_state ON alarm_transitions (state_id, id);
