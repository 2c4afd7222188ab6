//! The One Euro filters: a still but noisy signal comes out much steadier, a step is followed,
//! fast motion lags less than slow motion would suggest, rotations take the shortest arc (q and -q
//! alike), and bad samples are refused without disturbing the filter.

use cmanet::body::BodyParams;
use cmanet::data::synth::random::Rng;
use cmanet::filter::{FilterError, OneEuroRotation, OneEuroSettings, OneEuroVector, PoseFilter};
use nalgebra::{UnitQuaternion, Vector3};

const FPS: f64 = 30.0;

fn std_dev(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn a_still_noisy_position_is_steadied_and_a_step_is_followed() {
    let mut rng = Rng::new(5);
    let mut f = OneEuroVector::new(OneEuroSettings::default());
    let (mut raw, mut out) = (Vec::new(), Vec::new());
    for i in 0..300 {
        let x = 1.0 + 0.01 * rng.symmetric(1.0) as f64;
        raw.push(x);
        out.push(f.filter(i as f64 / FPS, Vector3::new(x, 0.0, 0.0)).unwrap().x);
    }
    assert!(std_dev(&out[30..]) < 0.3 * std_dev(&raw[30..]), "{} vs {}", std_dev(&out[30..]), std_dev(&raw[30..]));
    // A 0.5 m jump: followed within half a second.
    for i in 300..315 {
        out.push(f.filter(i as f64 / FPS, Vector3::new(1.5, 0.0, 0.0)).unwrap().x);
    }
    assert!((out.last().unwrap() - 1.5).abs() < 0.05, "{}", out.last().unwrap());
}

#[test]
fn higher_beta_lags_less_on_fast_motion() {
    let lag = |beta: f64| {
        let mut f = OneEuroVector::new(OneEuroSettings { beta, ..Default::default() });
        let mut last = 0.0;
        for i in 0..60 {
            let t = i as f64 / FPS;
            last = 2.0 * t - f.filter(t, Vector3::new(2.0 * t, 0.0, 0.0)).unwrap().x; // 2 m/s
        }
        last
    };
    assert!(lag(2.0) < 0.5 * lag(0.0), "{} vs {}", lag(2.0), lag(0.0));
}

#[test]
fn rotations_take_the_shortest_arc_and_ignore_the_sign() {
    let mut f = OneEuroRotation::new(OneEuroSettings::default());
    let a = UnitQuaternion::from_scaled_axis(Vector3::new(0.0, 0.2, 0.0));
    f.filter(0.0, a).unwrap();
    // The same rotation with the opposite sign is no motion at all.
    let flipped = UnitQuaternion::new_unchecked(-a.into_inner());
    let out = f.filter(1.0 / FPS, flipped).unwrap();
    assert!(out.angle_to(&a) < 1e-9);
    // Turning towards 0.6 rad: the filtered rotation lies between, on the arc.
    let b = UnitQuaternion::from_scaled_axis(Vector3::new(0.0, 0.6, 0.0));
    let out = f.filter(2.0 / FPS, b).unwrap();
    let angle = out.scaled_axis();
    assert!(angle.x.abs() < 1e-9 && angle.z.abs() < 1e-9 && angle.y > 0.2 && angle.y < 0.6, "{angle:?}");
}

#[test]
fn bad_samples_are_refused_and_change_nothing() {
    let mut f = PoseFilter::new(OneEuroSettings::default());
    let mut p = BodyParams::default();
    p.set_local_rotation(18, Vector3::new(0.0, 1.0, 0.0));
    let first = f.filter(0.0, &p).unwrap();
    assert_eq!(first, p, "the first sample passes through");
    let mut bad = p.clone();
    bad.body_pose[3].x = f32::NAN;
    assert_eq!(f.filter(0.1, &bad), Err(FilterError::NonFinite));
    assert!(matches!(f.filter(0.0, &p), Err(FilterError::BadTimeStep(_))));
    // The filter is as it was: the same sample again later is still the same pose.
    let again = f.filter(0.1, &p).unwrap();
    for j in 0..24 {
        assert!((again.local_rotation(j) - p.local_rotation(j)).norm() < 1e-6, "joint {j}");
    }
    // A new elbow angle is approached, not jumped to.
    let mut bent = p.clone();
    bent.set_local_rotation(18, Vector3::new(0.0, 2.0, 0.0));
    let step = f.filter(0.1 + 1.0 / FPS, &bent).unwrap().local_rotation(18).y;
    assert!(step > 1.0 && step < 2.0, "{step}");
    f.reset();
    assert_eq!(f.filter(0.0, &bent).unwrap(), bent, "after a reset the next sample passes through");
}
