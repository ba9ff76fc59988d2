use super::*;
use AlarmState::*;

fn rule(
    condition: Condition,
    m: u32,
    n: u32,
    missing: MissingData,
    min_volume: Option<u64>,
) -> Rule {
    Rule {
        condition,
        datapoints: (m, n),
        missing,
        min_volume,
    }
}

/// Values as a window, oldest first; `None` is a period without datapoint. Volume 1,000.
fn window(values: &[Option<f64>]) -> Vec<Period> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| Period {
            ts: i as i64 * 60_000,
            value: *v,
            volume: Some(1000.0),
        })
        .collect()
}

const B: Option<f64> = Some(0.5); // breaching for "below 0.8"
const G: Option<f64> = Some(0.9); // good
const M: Option<f64> = None; // missing

/// What a case checks, the rule, the window, the current state, the state expected.
type Case = (&'static str, Rule, Vec<Option<f64>>, AlarmState, AlarmState);

#[test]
fn m_of_n_and_each_missing_data_treatment() {
    let below = Condition::Below(0.8);
    use MissingData::*;
    let cases: Vec<Case> = vec![
        (
            "3 of 5 breaching",
            rule(below.clone(), 3, 5, Missing, None),
            vec![G, B, G, B, B],
            Ok,
            Alarm,
        ),
        (
            "2 of 5 breaching is not enough",
            rule(below.clone(), 3, 5, Missing, None),
            vec![G, B, G, G, B],
            Alarm,
            Ok,
        ),
        (
            "1 of 1",
            rule(below.clone(), 1, 1, Missing, None),
            vec![G, G, B],
            Ok,
            Alarm,
        ),
        (
            "all missing: insufficient data",
            rule(below.clone(), 3, 5, Missing, None),
            vec![M, M, M, M, M],
            Ok,
            InsufficientData,
        ),
        (
            "no data at all: insufficient data",
            rule(below.clone(), 1, 3, Missing, None),
            vec![],
            Alarm,
            InsufficientData,
        ),
        (
            "missing: skipped, present decide",
            rule(below.clone(), 2, 5, Missing, None),
            vec![M, B, M, B, M],
            Ok,
            Alarm,
        ),
        (
            "missing: too few present to rule out 3 breaching, the alarm holds",
            rule(below.clone(), 3, 5, Missing, None),
            vec![M, B, M, B, M],
            Alarm,
            Alarm,
        ),
        (
            "missing: one breaching and gaps do not resolve an alarm",
            rule(below.clone(), 3, 5, Missing, None),
            vec![M, M, B, M, M],
            Alarm,
            Alarm,
        ),
        (
            "missing: good datapoints returning, still not enough evidence",
            rule(below.clone(), 3, 5, Missing, None),
            vec![B, M, M, G, G],
            Alarm,
            Alarm,
        ),
        (
            "missing: enough good datapoints resolve",
            rule(below.clone(), 3, 5, Missing, None),
            vec![M, M, G, G, G],
            Alarm,
            Ok,
        ),
        (
            "missing: ok stays ok on the same window",
            rule(below.clone(), 3, 5, Missing, None),
            vec![M, B, M, B, M],
            Ok,
            Ok,
        ),
        (
            "start: insufficient data until it can tell",
            rule(below.clone(), 3, 5, Missing, None),
            vec![M, M, M, G, G],
            InsufficientData,
            InsufficientData,
        ),
        (
            "start: three good datapoints tell",
            rule(below.clone(), 3, 5, Missing, None),
            vec![M, M, G, G, G],
            InsufficientData,
            Ok,
        ),
        (
            "start: three breaching tell at once",
            rule(below.clone(), 3, 5, Missing, None),
            vec![M, M, B, B, B],
            InsufficientData,
            Alarm,
        ),
        (
            "ignore: a gap in the window does not resolve",
            rule(below.clone(), 2, 3, Ignore, None),
            vec![B, M, G],
            Alarm,
            Alarm,
        ),
        (
            "breaching: missing counts against",
            rule(below.clone(), 3, 5, Breaching, None),
            vec![M, B, M, G, G],
            Ok,
            Alarm,
        ),
        (
            "breaching: all missing is an alarm",
            rule(below.clone(), 3, 5, Breaching, None),
            vec![M, M, M],
            Ok,
            Alarm,
        ),
        (
            "not_breaching: missing counts for",
            rule(below.clone(), 3, 5, NotBreaching, None),
            vec![M, B, M, B, M],
            Alarm,
            Ok,
        ),
        (
            "not_breaching: all missing is ok",
            rule(below.clone(), 1, 3, NotBreaching, None),
            vec![M, M, M],
            Alarm,
            Ok,
        ),
        (
            "ignore: latest missing holds alarm",
            rule(below.clone(), 1, 3, Ignore, None),
            vec![G, G, M],
            Alarm,
            Alarm,
        ),
        (
            "ignore: latest missing holds ok",
            rule(below.clone(), 1, 3, Ignore, None),
            vec![B, B, M],
            Ok,
            Ok,
        ),
        (
            "ignore: latest present evaluates",
            rule(below.clone(), 2, 3, Ignore, None),
            vec![B, M, B],
            Ok,
            Alarm,
        ),
        (
            "above",
            rule(Condition::Above(0.2), 1, 1, Missing, None),
            vec![Some(0.3)],
            Ok,
            Alarm,
        ),
        (
            "above, not breaching at the threshold",
            rule(Condition::Above(0.3), 1, 1, Missing, None),
            vec![Some(0.3)],
            Alarm,
            Ok,
        ),
    ];
    for (what, r, values, current, want) in cases {
        let got = evaluate(&r, &window(&values), None, current);
        assert_eq!(got.state, want, "{what}: {got:?}");
    }
}

#[test]
fn min_volume_holds_the_state_and_discounts_quiet_periods() {
    let r = rule(Condition::Below(0.8), 1, 1, MissingData::Missing, Some(100));
    let quiet = [Period {
        ts: 0,
        value: Some(0.1),
        volume: Some(20.0),
    }];
    for current in [
        AlarmState::Ok,
        AlarmState::Alarm,
        AlarmState::InsufficientData,
    ] {
        let e = evaluate(&r, &quiet, None, current);
        assert_eq!(e.state, current, "held");
        assert!(e.reason.contains("under min_volume 100"), "{}", e.reason);
    }
    let busy = [Period {
        ts: 0,
        value: Some(0.1),
        volume: Some(500.0),
    }];
    assert_eq!(
        evaluate(&r, &busy, None, AlarmState::Ok).state,
        AlarmState::Alarm
    );
    // An earlier quiet period does not count as breaching.
    let r = rule(Condition::Below(0.8), 2, 2, MissingData::Missing, Some(100));
    let mixed = [
        Period {
            ts: 0,
            value: Some(0.1),
            volume: Some(5.0),
        },
        Period {
            ts: 1,
            value: Some(0.1),
            volume: Some(500.0),
        },
    ];
    assert_eq!(
        evaluate(&r, &mixed, None, AlarmState::Ok).state,
        AlarmState::Ok
    );
}

#[test]
fn a_drop_is_measured_against_the_baseline() {
    let drop = Condition::Drop {
        points: 0.15,
        baseline: crate::config::Baseline::LastWeek,
    };
    let r = rule(drop, 1, 1, MissingData::Missing, None);
    assert_eq!(
        evaluate(&r, &window(&[Some(0.70)]), Some(0.90), AlarmState::Ok).state,
        AlarmState::Alarm
    );
    assert_eq!(
        evaluate(&r, &window(&[Some(0.80)]), Some(0.90), AlarmState::Alarm).state,
        AlarmState::Ok
    );
    // No baseline yet (a week of history missing): the period cannot be judged.
    assert_eq!(
        evaluate(&r, &window(&[Some(0.10)]), None, AlarmState::Ok).state,
        AlarmState::InsufficientData
    );
}

#[test]
fn the_evaluation_says_why() {
    let r = rule(Condition::Below(0.8), 3, 5, MissingData::Missing, None);
    let e = evaluate(&r, &window(&[G, B, M, B, B]), None, AlarmState::Ok);
    assert_eq!(e.breaching, 3);
    assert_eq!(e.considered, 4);
    assert_eq!(
        e.verdicts,
        [
            Verdict::NotBreaching,
            Verdict::Breaching,
            Verdict::Missing,
            Verdict::Breaching,
            Verdict::Breaching
        ]
    );
    assert_eq!(
        e.reason,
        "3 of the last 5 periods breaching (3 needed), 1 without datapoint"
    );
}
