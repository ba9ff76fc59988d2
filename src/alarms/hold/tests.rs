use super::*;
use crate::config::{Settings, load_from};
use crate::store::Silence;
use AlarmState::{Alarm, InsufficientData, Ok};

const MIN: i64 = 60_000;
/// 2026-11-22T10:00:00Z, a Sunday.
const NOW: i64 = 1_795_341_600_000;

fn settings(extra: &str) -> Settings {
    let text = format!(
        "[[targets]]\nname = \"sessions-1\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n\
         [[targets]]\nname = \"catalog\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6380\"\n\
         [[alarms]]\nname = \"hit-rate\"\ntarget = \"*\"\nmetric = \"hit_rate\"\nbelow = 0.8\nmute_expected = true\n\
         [[alarms]]\nname = \"evictions\"\ntarget = \"*\"\nmetric = \"evicted_keys\"\nabove = 100.0\n{extra}"
    );
    load_from(Some(&text), Vec::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn silence(id: i64, alarm_id: Option<i64>, alarm: Option<&str>, target: Option<&str>) -> Silence {
    Silence {
        id,
        alarm_id,
        alarm: alarm.map(Into::into),
        target: target.map(Into::into),
        until: Some(NOW + 60 * MIN),
        comment: String::new(),
        created_by: "alice".into(),
        created_at: NOW - MIN,
        ended_at: None,
        ended_by: None,
    }
}

#[test]
fn which_message_each_evaluation_sends() {
    let r = Some(30 * MIN);
    let cases = [
        (
            "entering alarm",
            InsufficientData,
            Alarm,
            None,
            r,
            Some(Kind::Alarm),
        ),
        ("ok to alarm", Ok, Alarm, None, None, Some(Kind::Alarm)),
        ("alarm to ok", Alarm, Ok, Some(NOW), r, Some(Kind::Resolved)),
        (
            "alarm to insufficient data",
            Alarm,
            InsufficientData,
            Some(NOW),
            r,
            None,
        ),
        ("first ok is not news", InsufficientData, Ok, None, r, None),
        (
            "still alarm, reminder not due",
            Alarm,
            Alarm,
            Some(NOW - 29 * MIN),
            r,
            None,
        ),
        (
            "still alarm, reminder due",
            Alarm,
            Alarm,
            Some(NOW - 30 * MIN),
            r,
            Some(Kind::Reminder),
        ),
        (
            "still alarm, no repeat",
            Alarm,
            Alarm,
            Some(NOW - 300 * MIN),
            None,
            None,
        ),
        (
            "still alarm, message was held",
            Alarm,
            Alarm,
            None,
            None,
            Some(Kind::Alarm),
        ),
        ("still ok", Ok, Ok, None, r, None),
        (
            "a data gap in an announced alarm",
            Alarm,
            InsufficientData,
            Some(NOW),
            r,
            None,
        ),
        (
            "back in alarm after the gap: the same episode",
            InsufficientData,
            Alarm,
            Some(NOW - MIN),
            r,
            None,
        ),
        (
            "back in alarm after the gap, reminder due",
            InsufficientData,
            Alarm,
            Some(NOW - 30 * MIN),
            r,
            Some(Kind::Reminder),
        ),
        (
            "ok after the gap resolves the episode",
            InsufficientData,
            Ok,
            Some(NOW - MIN),
            r,
            Some(Kind::Resolved),
        ),
        (
            "alarm to ok after a held message",
            Alarm,
            Ok,
            None,
            r,
            Some(Kind::Resolved),
        ),
    ];
    for (name, from, to, notified, repeat, want) in cases {
        assert_eq!(message(from, to, notified, repeat, NOW), want, "{name}");
    }
}

#[test]
fn what_holds_a_message() {
    let s = settings(
        "[[maintenance]]\nname = \"sunday-flush\"\ntarget = \"sessions-*\"\ncron = \"0 0 9 * * Sun\"\nduration = \"2h\"\n\
         [[maintenance]]\nname = \"catalog-rebuild\"\ntarget = \"catalog\"\nalarms = [\"evictions\"]\ncron = \"0 0 9 * * *\"\nduration = \"2h\"\n\
         [[maintenance]]\nname = \"monday\"\ncron = \"0 0 9 * * Mon\"\nduration = \"2h\"\n",
    );
    let hit_rate = &s.alarms[0];
    let evictions = &s.alarms[1];
    let dip = Expected {
        job: 12,
        label: "expected after invalidation #12".into(),
    };
    let mut ended = silence(9, None, None, Some("*"));
    ended.ended_at = Some(NOW - 1);
    let mut expired = silence(10, None, None, Some("*"));
    expired.until = Some(NOW);
    let by_state = [silence(3, Some(7), None, None)];
    let by_glob = [silence(4, None, Some("hit-rate"), Some("catalog*"))];
    let by_other_alarm = [silence(5, None, Some("evictions"), None)];
    let inactive = [ended, expired];
    #[allow(clippy::type_complexity)]
    let cases: [(
        &str,
        &AlarmSettings,
        &str,
        Option<i64>,
        Option<&str>,
        &[Silence],
        Option<&Expected>,
        Option<&str>,
    ); 11] = [
        (
            "nothing holds",
            hit_rate,
            "catalog",
            Some(1),
            None,
            &[],
            None,
            None,
        ),
        (
            "acknowledged",
            hit_rate,
            "catalog",
            Some(1),
            Some("bob"),
            &[],
            None,
            Some("acknowledged by bob"),
        ),
        (
            "silence of this alarm state",
            hit_rate,
            "catalog",
            Some(7),
            None,
            &by_state,
            None,
            Some("silence #3 by alice"),
        ),
        (
            "silence of another alarm state",
            hit_rate,
            "catalog",
            Some(8),
            None,
            &by_state,
            None,
            None,
        ),
        (
            "silence by alarm and target glob",
            hit_rate,
            "catalog",
            Some(1),
            None,
            &by_glob,
            None,
            Some("silence #4 by alice"),
        ),
        (
            "silence of another alarm name",
            hit_rate,
            "catalog",
            Some(1),
            None,
            &by_other_alarm,
            None,
            None,
        ),
        (
            "ended and expired silences",
            hit_rate,
            "catalog",
            Some(1),
            None,
            &inactive,
            None,
            None,
        ),
        (
            "maintenance window on the target (Sunday 9-11)",
            hit_rate,
            "sessions-1",
            Some(1),
            None,
            &[],
            None,
            Some("maintenance window sunday-flush"),
        ),
        (
            "window for another alarm",
            hit_rate,
            "catalog",
            Some(1),
            None,
            &[],
            None,
            None,
        ),
        (
            "window for this alarm",
            evictions,
            "catalog",
            Some(1),
            None,
            &[],
            None,
            Some("maintenance window catalog-rebuild"),
        ),
        (
            "expected dip, muted",
            hit_rate,
            "catalog",
            Some(1),
            None,
            &[],
            Some(&dip),
            Some("expected after invalidation #12"),
        ),
    ];
    for (name, alarm, target, state_id, acked_by, silences, expected, want) in cases {
        let h = Holds {
            alarm,
            target,
            state_id,
            acked_by,
            silences,
            windows: &s.maintenance,
            expected,
            now: NOW,
        };
        assert_eq!(
            held_by(Kind::Alarm, Some(NOW), &h).as_deref(),
            want,
            "{name}"
        );
        assert_eq!(
            held_by(Kind::Reminder, Some(NOW), &h).as_deref(),
            want,
            "{name} (reminder)"
        );
        // A resolution goes wherever the alarm message went, whatever holds now.
        assert_eq!(
            held_by(Kind::Resolved, Some(NOW), &h),
            None,
            "{name} (resolved)"
        );
        assert_eq!(
            held_by(Kind::Resolved, None, &h).as_deref(),
            Some("its alarm message was held"),
            "{name} (resolved after a held alarm)"
        );
    }
    // An expected dip on an alarm without mute_expected is annotated, not held.
    let h = Holds {
        alarm: evictions,
        target: "sessions-1",
        state_id: Some(1),
        acked_by: None,
        silences: &[],
        windows: &[],
        expected: Some(&dip),
        now: NOW,
    };
    assert_eq!(held_by(Kind::Alarm, Some(NOW), &h), None);
}

#[test]
fn maintenance_windows_recur_from_their_cron() {
    let s = settings(
        "[[maintenance]]\nname = \"nightly\"\ncron = \"0 30 2 * * *\"\nduration = \"90m\"\n",
    );
    let w = &s.maintenance[0];
    let day = NOW - 10 * 60 * MIN; // 2026-11-22T00:00:00Z
    let at = |h: i64, m: i64| day + h * 60 * MIN + m * MIN;
    let cases = [
        ("before", at(2, 29), None),
        ("at the start", at(2, 30), Some(at(4, 0))),
        ("inside", at(3, 59), Some(at(4, 0))),
        ("at the end", at(4, 0), None),
        ("the next night", at(24 + 3, 0), Some(at(24 + 4, 0))),
    ];
    for (name, now, want) in cases {
        assert_eq!(window_end(w, now), want, "{name}");
    }
    // In a zone: 03:00 in Berlin is 02:00 UTC in November (CET) and 01:00 UTC in July (CEST).
    let s = settings(
        "[[maintenance]]\nname = \"berlin\"\ncron = \"0 0 3 * * *\"\nduration = \"30m\"\ntimezone = \"Europe/Berlin\"\n",
    );
    let w = &s.maintenance[0];
    assert_eq!(window_end(w, at(2, 10)), Some(at(2, 30)), "winter");
    assert_eq!(window_end(w, at(3, 10)), None, "not 03:00 UTC");
    let july = 1_783_036_800_000; // 2026-07-03T00:00:00Z
    assert_eq!(
        window_end(w, july + 70 * MIN),
        Some(july + 90 * MIN),
        "summer"
    );
}
