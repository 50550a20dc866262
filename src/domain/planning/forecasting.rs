//! The forecasting engine: daily demand history in, a 30-day forecast with 80 % and 95 %
//! intervals out, with the model that made it and its measured accuracy. Pure computation (no
//! I/O), CPU-heavy: callers run it off the async workers ([`forecast_all`] spreads a batch
//! over the machine's cores).
//!
//! Models, best first, each used only where the history can carry it:
//! - `MSTL_ETS` — MSTL decomposition with a weekly period, the trend forecast by AutoETS
//!   (additive errors; no, additive or damped trend, chosen by AICc) — `augurs`. Needs
//!   [`MIN_DAYS_FOR_MSTL`] days.
//! - `SEASONAL_NAIVE` — each weekday repeats last week's value. Needs two weeks.
//! - `MEAN` — the mean of the last four weeks, for anything shorter.
//!
//! Accuracy is measured, not assumed: the last [`BACKTEST_DAYS`] days are held out, the model
//! is fitted on the rest and scored (sMAPE and MASE), and seasonal-naive is scored on the same
//! days. Where the seasonal model does worse than seasonal-naive, seasonal-naive is used.

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_mstl::MSTLModel;

/// Days forecast.
pub const HORIZON: usize = 30;
/// Days held out to measure accuracy.
pub const BACKTEST_DAYS: usize = 28;
/// The seasonal period: a week of days.
pub const SEASON: usize = 7;
/// History the seasonal model needs: the backtest's 28 days plus three weeks to fit on.
pub const MIN_DAYS_FOR_MSTL: usize = BACKTEST_DAYS + 3 * SEASON;

/// z of the two-sided 80 % and 95 % intervals.
const Z80: f64 = 1.281_551_565_544_600_5;
const Z95: f64 = 1.959_963_984_540_054;

/// Which model made a forecast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    MstlEts,
    SeasonalNaive,
    Mean,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Model::MstlEts => "MSTL_ETS",
            Model::SeasonalNaive => "SEASONAL_NAIVE",
            Model::Mean => "MEAN",
        }
    }

    pub fn of_stored(stored: &str) -> Model {
        match stored {
            "MSTL_ETS" => Model::MstlEts,
            "SEASONAL_NAIVE" => Model::SeasonalNaive,
            _ => Model::Mean,
        }
    }
}

/// One forecast day: the point and its intervals (never below zero).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DayForecast {
    pub point: f64,
    pub lower80: f64,
    pub upper80: f64,
    pub lower95: f64,
    pub upper95: f64,
}

/// How a model did on the held-out days.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accuracy {
    /// Symmetric mean absolute percentage error, 0–200 %.
    pub smape: f64,
    /// Mean absolute scaled error (against in-sample seasonal-naive); `None` when the history
    /// never changed from week to week.
    pub mase: Option<f64>,
    /// Seasonal-naive's sMAPE on the same days, for comparison.
    pub naive_smape: f64,
}

/// A series' forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesForecast {
    pub model: Model,
    pub days: Vec<DayForecast>,
    /// `None` when the history is too short to hold any days out.
    pub accuracy: Option<Accuracy>,
}

/// sMAPE in percent; days where both actual and forecast are zero count as exact.
pub fn smape(actual: &[f64], forecast: &[f64]) -> f64 {
    let n = actual.len().min(forecast.len());
    if n == 0 {
        return 0.0;
    }
    let sum: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| {
            let scale = a.abs() + f.abs();
            if scale == 0.0 {
                0.0
            } else {
                2.0 * (a - f).abs() / scale
            }
        })
        .sum();
    100.0 * sum / n as f64
}

/// MASE: the forecast's mean absolute error over the in-sample seasonal-naive one.
pub fn mase(train: &[f64], actual: &[f64], forecast: &[f64]) -> Option<f64> {
    if train.len() <= SEASON || actual.is_empty() {
        return None;
    }
    let scale = train
        .windows(SEASON + 1)
        .map(|w| (w[SEASON] - w[0]).abs())
        .sum::<f64>()
        / (train.len() - SEASON) as f64;
    if scale == 0.0 {
        return None;
    }
    let mae = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| (a - f).abs())
        .sum::<f64>()
        / actual.len() as f64;
    Some(mae / scale)
}

fn day(point: f64, sd: f64) -> DayForecast {
    let point = point.max(0.0);
    DayForecast {
        point,
        lower80: (point - Z80 * sd).max(0.0),
        upper80: (point + Z80 * sd).max(0.0),
        lower95: (point - Z95 * sd).max(0.0),
        upper95: (point + Z95 * sd).max(0.0),
    }
}

/// Seasonal-naive: each day repeats the same weekday of the last week; the interval widens
/// with every week ahead (σ √(k+1), σ from the week-on-week differences).
fn seasonal_naive(history: &[f64], horizon: usize) -> Vec<DayForecast> {
    let n = history.len();
    let last_week = &history[n - SEASON..];
    let diffs: Vec<f64> = history
        .windows(SEASON + 1)
        .map(|w| w[SEASON] - w[0])
        .collect();
    let sigma = if diffs.is_empty() {
        0.0
    } else {
        (diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64).sqrt()
    };
    (0..horizon)
        .map(|h| {
            let weeks_ahead = (h / SEASON) as f64;
            day(last_week[h % SEASON], sigma * (weeks_ahead + 1.0).sqrt())
        })
        .collect()
}

fn seasonal_naive_points(history: &[f64], horizon: usize) -> Vec<f64> {
    let n = history.len();
    (0..horizon)
        .map(|h| history[n - SEASON + h % SEASON])
        .collect()
}

/// The mean of the last four weeks, σ √(1 + 1/T).
fn mean_model(history: &[f64], horizon: usize) -> Vec<DayForecast> {
    let recent = &history[history.len().saturating_sub(BACKTEST_DAYS)..];
    if recent.is_empty() {
        return vec![day(0.0, 0.0); horizon];
    }
    let t = recent.len() as f64;
    let mean = recent.iter().sum::<f64>() / t;
    let variance = if recent.len() > 1 {
        recent.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (t - 1.0)
    } else {
        0.0
    };
    vec![day(mean, (variance * (1.0 + 1.0 / t)).sqrt()); horizon]
}

fn mean_points(history: &[f64], horizon: usize) -> Vec<f64> {
    mean_model(history, horizon)
        .into_iter()
        .map(|d| d.point)
        .collect()
}

fn mstl_model() -> MSTLModel<augurs_ets::trend::AutoETSTrendModel> {
    let ets = AutoETS::new(1, "AZN").expect("AZN is a valid ETS specification");
    MSTLModel::new(vec![SEASON], ets.into_trend_model())
}

/// MSTL + AutoETS points and intervals, or `None` where the fit fails or is not finite.
fn mstl(history: &[f64], horizon: usize) -> Option<Vec<DayForecast>> {
    let fitted = mstl_model().fit(history).ok()?;
    let f80 = fitted.predict(horizon, 0.80).ok()?;
    let f95 = fitted.predict(horizon, 0.95).ok()?;
    let (i80, i95) = (f80.intervals?, f95.intervals?);
    let days: Vec<DayForecast> = (0..horizon)
        .map(|h| {
            let point = f80.point[h].max(0.0);
            DayForecast {
                point,
                lower80: i80.lower[h].max(0.0).min(point),
                upper80: i80.upper[h].max(point),
                lower95: i95.lower[h].max(0.0).min(point),
                upper95: i95.upper[h].max(point),
            }
        })
        .collect();
    days.iter()
        .all(|d| {
            [d.point, d.lower80, d.upper80, d.lower95, d.upper95]
                .iter()
                .all(|v| v.is_finite())
        })
        .then_some(days)
}

fn mstl_points(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    let fitted = mstl_model().fit(history).ok()?;
    let points: Vec<f64> = fitted
        .predict(horizon, None)
        .ok()?
        .point
        .into_iter()
        .map(|p| p.max(0.0))
        .collect();
    points.iter().all(|p| p.is_finite()).then_some(points)
}

/// Forecasts `horizon` days after `history` (daily demand, oldest first, ending yesterday).
pub fn forecast(history: &[f64], horizon: usize) -> SeriesForecast {
    let n = history.len();
    let constant = history.windows(2).all(|w| w[0] == w[1]);
    if n < 2 * SEASON || constant {
        // Too short for a week-on-week pattern (or nothing to model): the recent mean.
        let accuracy = (n >= 2 * SEASON).then(|| {
            let (train, test) = history.split_at(n - SEASON);
            let naive = seasonal_naive_points(train, SEASON);
            Accuracy {
                smape: smape(test, &mean_points(train, SEASON)),
                mase: mase(train, test, &mean_points(train, SEASON)),
                naive_smape: smape(test, &naive),
            }
        });
        return SeriesForecast {
            model: Model::Mean,
            days: mean_model(history, horizon),
            accuracy,
        };
    }
    // Hold out up to four weeks, keeping at least two to fit on.
    let held_out = BACKTEST_DAYS.min(n - 2 * SEASON);
    let (train, test) = history.split_at(n - held_out);
    let naive = seasonal_naive_points(train, held_out);
    let naive_accuracy = Accuracy {
        smape: smape(test, &naive),
        mase: mase(train, test, &naive),
        naive_smape: smape(test, &naive),
    };
    if n >= MIN_DAYS_FOR_MSTL
        && let Some(points) = mstl_points(train, held_out)
    {
        let accuracy = Accuracy {
            smape: smape(test, &points),
            mase: mase(train, test, &points),
            naive_smape: naive_accuracy.smape,
        };
        if accuracy.smape <= naive_accuracy.smape
            && let Some(days) = mstl(history, horizon)
        {
            return SeriesForecast {
                model: Model::MstlEts,
                days,
                accuracy: Some(accuracy),
            };
        }
    }
    SeriesForecast {
        model: Model::SeasonalNaive,
        days: seasonal_naive(history, horizon),
        accuracy: Some(naive_accuracy),
    }
}

/// [`forecast`], but a panic inside the model library becomes the mean model (logged): one
/// bad series must not end a run, nor shift the others' results.
fn forecast_guarded(history: &[f64], horizon: usize) -> SeriesForecast {
    std::panic::catch_unwind(|| forecast(history, horizon)).unwrap_or_else(|_| {
        tracing::error!(
            days = history.len(),
            "the forecasting model panicked; using the mean"
        );
        SeriesForecast {
            model: Model::Mean,
            days: mean_model(history, horizon),
            accuracy: None,
        }
    })
}

/// Forecasts every history, spread over the machine's cores (blocking: call it from
/// `spawn_blocking` or a thread of its own). Results are in the order of `histories`.
pub fn forecast_all(histories: &[Vec<f64>], horizon: usize) -> Vec<SeriesForecast> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(histories.len().max(1));
    if workers <= 1 {
        return histories
            .iter()
            .map(|h| forecast_guarded(h, horizon))
            .collect();
    }
    let chunk = histories.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = histories
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|h| forecast_guarded(h, horizon))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    })
}

/// A synthetic daily demand series: weekly pattern × slow trend + Gaussian noise (for tests
/// and the benchmark; deterministic by `seed`).
pub fn synthetic_series(days: usize, base: f64, noise: f64, seed: u64) -> Vec<f64> {
    const WEEK: [f64; 7] = [0.7, 0.8, 0.9, 1.0, 1.4, 1.6, 0.6];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    (0..days)
        .map(|d| {
            let (u1, u2) = (uniform().max(1e-12), uniform());
            let gaussian = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            let level = base * WEEK[d % 7] * (1.0 + 0.001 * d as f64);
            (level + gaussian * base * noise).max(0.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smape_and_mase_on_hand_worked_numbers() {
        // |100-110| * 2 / 210 = 9.5238 %, |50-50| = 0 → mean 4.7619 %.
        assert!((smape(&[100.0, 50.0], &[110.0, 50.0]) - 4.761_904_761_9).abs() < 1e-9);
        assert_eq!(smape(&[0.0], &[0.0]), 0.0);
        // In-sample week-on-week MAE: |8-1| = 7 (one window of 8); forecast MAE 3.5 → 0.5.
        let train = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        assert_eq!(mase(&train, &[10.0, 10.0], &[13.5, 6.5]), Some(0.5));
    }

    #[test]
    fn a_year_with_weekly_seasonality_uses_the_seasonal_model_and_beats_seasonal_naive() {
        // 50 synthetic series, a year each, 15 % noise: the chosen model's backtest sMAPE
        // must beat seasonal-naive's by at least 20 % (relative) on average.
        let (mut chosen, mut naive, mut seasonal) = (0.0, 0.0, 0);
        for seed in 0..50 {
            let history = synthetic_series(365, 10.0 + seed as f64, 0.15, seed);
            let result = forecast(&history, HORIZON);
            assert_eq!(result.days.len(), HORIZON);
            let accuracy = result.accuracy.expect("a year is long enough to backtest");
            assert!(accuracy.smape <= accuracy.naive_smape);
            chosen += accuracy.smape;
            naive += accuracy.naive_smape;
            seasonal += usize::from(result.model == Model::MstlEts);
            for d in &result.days {
                assert!(d.lower95 <= d.lower80 && d.lower80 <= d.point);
                assert!(d.point <= d.upper80 && d.upper80 <= d.upper95);
            }
        }
        let (chosen, naive) = (chosen / 50.0, naive / 50.0);
        assert!(
            seasonal >= 45,
            "MSTL_ETS chosen for {seasonal} of 50 series"
        );
        assert!(
            chosen <= 0.8 * naive,
            "sMAPE {chosen:.2} % vs seasonal-naive {naive:.2} %"
        );
    }

    #[test]
    fn the_forecast_follows_the_weekly_pattern() {
        let history = synthetic_series(365, 20.0, 0.05, 7);
        let result = forecast(&history, 14);
        // Day 365 is weekday index 1 of the pattern (365 % 7): Saturday (index 5) peaks,
        // Sunday (6) dips.
        let peak = result.days[(5 + 7 - 1) % 7].point;
        let dip = result.days[(6 + 7 - 1) % 7].point;
        assert!(peak > 2.0 * dip, "peak {peak:.1} vs dip {dip:.1}");
    }

    #[test]
    fn short_histories_fall_back_and_say_so() {
        let two_weeks = synthetic_series(20, 10.0, 0.1, 1);
        let result = forecast(&two_weeks, HORIZON);
        assert_eq!(result.model, Model::SeasonalNaive);
        assert!(result.accuracy.is_some());

        let five_days = [4.0, 6.0, 5.0, 5.0, 5.0];
        let result = forecast(&five_days, HORIZON);
        assert_eq!(result.model, Model::Mean);
        assert_eq!(result.accuracy, None);
        assert!((result.days[0].point - 5.0).abs() < 1e-9);
        assert!(result.days[0].lower95 < 5.0 && result.days[0].upper95 > 5.0);

        let nothing_used = vec![0.0; 120];
        let result = forecast(&nothing_used, HORIZON);
        assert_eq!(result.model, Model::Mean);
        assert!(
            result
                .days
                .iter()
                .all(|d| d.point == 0.0 && d.upper95 == 0.0)
        );

        assert_eq!(forecast(&[], 3).days.len(), 3);
    }

    #[test]
    fn forecast_all_keeps_the_order_of_its_input() {
        let histories: Vec<Vec<f64>> = (0..9).map(|s| vec![s as f64; 30]).collect();
        let results = forecast_all(&histories, 5);
        assert_eq!(results.len(), 9);
        for (s, result) in results.iter().enumerate() {
            assert!((result.days[0].point - s as f64).abs() < 1e-9);
        }
    }
}
