-- One state per (alarm, target): an alarm over a glob of targets has one state per target.
CREATE TABLE alarm_states (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alarm        TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    -- ok | alarm | insufficient_data
    state        TEXT    NOT NULL,
    since        BIGINT NOT NULL,
    evaluated_at BIGINT NOT NULL,
    reason       TEXT    NOT NULL,
    UNIQUE (alarm, target)
);

-- Every change of state, with the periods and verdicts that caused it.
CREATE TABLE alarm_transitions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state_id   BIGINT NOT NULL REFERENCES alarm_states (id),
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    at         BIGINT NOT NULL,
    reason     TEXT    NOT NULL,
    evaluation TEXT    NOT NULL
);
CREATE INDEX alarm_transitions_state ON alarm_transitions (state_id, id);
