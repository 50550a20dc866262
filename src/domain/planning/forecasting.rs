//! The forecasting engine: daily demand history in, a 30-day forecast with 80 % and 95 %
//! intervals out, with the model that made it and its measured accuracy. Pure computation (no
//! I/O), CPU-heavy: callers run it off the async workers ([`forecast_all`] spreads a batch
//! over the machine's cores).
//!
//! Models, best first, each used only where the history can carry it:
//! - `MSTL_ETS` — MSTL decomposition with a weekly period, the trend forecast by AutoETS
//!   (additive errors; no or additive trend, chosen by AICc) — `augurs`. Needs
//!   [`MIN_DAYS_FOR_MSTL`] days.
//! - `SEASONAL_NAIVE` — each weekday repeats last week's value. Needs two weeks.
//! - `MEAN` — the mean of the last four weeks, for anything shorter.
//!
//! Accuracy is measured, not assumed: the last [`BACKTEST_DAYS`] days are held out, the model
//! is fitted on the rest and scored (sMAPE and MASE), and seasonal-naive is scored on the same
//! days. Where the seasonal model does worse than seasonal-naive, seasonal-naive is used.
//!
//! Weather, where the series has it (the day's maximum temperature beside most history days
//! and some days ahead), is tried as a regressor on what the chosen model leaves unexplained
//! (its in-sample residuals, by least squares on the temperature). It is kept only where it
//! lowers the backtest sMAPE by at least [`WEATHER_GAIN`]; the forecast then says so.

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
    /// The temperature regressor was used (it backtested better).
    pub weather_adjusted: bool,
}

/// The relative backtest sMAPE reduction weather must bring to be used (5 %).
pub const WEATHER_GAIN: f64 = 0.05;
/// History days with weather a temperature regression needs.
const MIN_WEATHER_DAYS: usize = 28;

/// The day's maximum temperature (°C) beside each history day and each day ahead; `None`
/// where none is known.
#[derive(Clone, Copy, Debug)]
pub struct Weather<'a> {
    pub history: &'a [Option<f64>],
    pub ahead: &'a [Option<f64>],
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

/// The trend's ETS: additive errors, no or additive trend chosen by AICc. Damped trends are
/// left out: on a year of daily demand they cost 2.3× the fitting time for no measurable
/// accuracy (300 synthetic series: backtest sMAPE 10.72 % either way).
fn mstl_model() -> MSTLModel<augurs_ets::trend::AutoETSTrendModel> {
    let ets = AutoETS::new(1, "AZN")
        .and_then(|ets| ets.damped(false))
        .expect("AZN without damping is a valid ETS specification");
    MSTLModel::new(vec![SEASON], ets.into_trend_model())
}

/// A fitted model's forecast and (when asked) in-sample predictions.
struct Fitted {
    days: Vec<DayForecast>,
    in_sample: Option<Vec<f64>>,
}

fn finite(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

/// MSTL + AutoETS: points and intervals (none where the fit fails or is not finite).
fn mstl(history: &[f64], horizon: usize, intervals: bool, in_sample: bool) -> Option<Fitted> {
    let fitted = mstl_model().fit(history).ok()?;
    let in_sample = if in_sample {
        let values = fitted.predict_in_sample(None).ok()?.point;
        finite(&values).then_some(values)?.into()
    } else {
        None
    };
    if !intervals {
        let points = fitted.predict(horizon, None).ok()?.point;
        if !finite(&points) {
            return None;
        }
        let days = points.iter().map(|p| day(*p, 0.0)).collect();
        return Some(Fitted { days, in_sample });
    }
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
        .all(|d| finite(&[d.point, d.lower80, d.upper80, d.lower95, d.upper95]))
        .then_some(Fitted { days, in_sample })
}

/// Seasonal-naive as a fitted model: in-sample, each day is the same weekday a week before
/// (the first week has none).
fn seasonal_naive_fitted(history: &[f64], horizon: usize) -> Fitted {
    let in_sample = (0..history.len())
        .map(|t| {
            if t >= SEASON {
                history[t - SEASON]
            } else {
                f64::NAN
            }
        })
        .collect();
    Fitted {
        days: seasonal_naive(history, horizon),
        in_sample: Some(in_sample),
    }
}

/// Least squares of what the model left unexplained on the temperature: (intercept, slope)
/// over days with both, or `None` with too few days or no spread in temperature.
fn temperature_effect(
    history: &[f64],
    in_sample: &[f64],
    temperatures: &[Option<f64>],
) -> Option<(f64, f64)> {
    let pairs: Vec<(f64, f64)> = history
        .iter()
        .zip(in_sample)
        .zip(temperatures)
        .filter_map(|((y, fit), t)| {
            let t = (*t)?;
            (fit.is_finite() && t.is_finite()).then_some((t, y - fit))
        })
        .collect();
    if pairs.len() < MIN_WEATHER_DAYS {
        return None;
    }
    let n = pairs.len() as f64;
    let mean_t = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_e = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pairs.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    if sxx < 1e-9 {
        return None;
    }
    let sxy: f64 = pairs.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_e)).sum();
    let slope = sxy / sxx;
    Some((mean_e - slope * mean_t, slope))
}

/// Shifts the days that have a temperature by the effect (never below zero).
fn adjust(days: &mut [DayForecast], temperatures: &[Option<f64>], (a, b): (f64, f64)) {
    for (d, t) in days.iter_mut().zip(temperatures) {
        if let Some(t) = t {
            let shift = a + b * t;
            let point = (d.point + shift).max(0.0);
            let moved = point - d.point;
            d.point = point;
            d.lower80 = (d.lower80 + moved).max(0.0);
            d.upper80 = (d.upper80 + moved).max(point);
            d.lower95 = (d.lower95 + moved).max(0.0);
            d.upper95 = (d.upper95 + moved).max(point);
        }
    }
}

/// Forecasts `horizon` days after `history` (daily demand, oldest first, ending yesterday).
pub fn forecast(history: &[f64], horizon: usize) -> SeriesForecast {
    forecast_with(history, horizon, None)
}

/// [`forecast`], trying the weather where it is given.
pub fn forecast_with(
    history: &[f64],
    horizon: usize,
    weather: Option<Weather<'_>>,
) -> SeriesForecast {
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
            weather_adjusted: false,
        };
    }
    // Hold out up to four weeks, keeping at least two to fit on; under a week held out says
    // nothing, so a history of two to three weeks is forecast unscored.
    let held_out = BACKTEST_DAYS.min(n - 2 * SEASON);
    if held_out < SEASON {
        return SeriesForecast {
            model: Model::SeasonalNaive,
            days: seasonal_naive(history, horizon),
            accuracy: None,
            weather_adjusted: false,
        };
    }
    let (train, test) = history.split_at(n - held_out);
    let naive = seasonal_naive_points(train, held_out);
    let naive_smape = smape(test, &naive);
    let weather = weather.filter(|w| w.history.len() == n);
    let try_weather = weather.is_some();

    // The backtest: the seasonal model where the history carries it, else seasonal-naive.
    let seasonal = (n >= MIN_DAYS_FOR_MSTL)
        .then(|| mstl(train, held_out, false, try_weather))
        .flatten()
        .filter(|f| {
            let points: Vec<f64> = f.days.iter().map(|d| d.point).collect();
            smape(test, &points) <= naive_smape
        });
    let model = if seasonal.is_some() {
        Model::MstlEts
    } else {
        Model::SeasonalNaive
    };
    let backtest = seasonal.unwrap_or_else(|| seasonal_naive_fitted(train, held_out));
    let points: Vec<f64> = backtest.days.iter().map(|d| d.point).collect();
    let mut accuracy = Accuracy {
        smape: smape(test, &points),
        mase: mase(train, test, &points),
        naive_smape,
    };

    // Weather: kept only where it lowers the backtest's sMAPE enough.
    let mut use_weather = false;
    if let (Some(w), Some(in_sample)) = (weather, backtest.in_sample.as_deref())
        && let Some(effect) = temperature_effect(train, in_sample, &w.history[..n - held_out])
    {
        let mut adjusted = backtest.days.clone();
        adjust(&mut adjusted, &w.history[n - held_out..], effect);
        let points: Vec<f64> = adjusted.iter().map(|d| d.point).collect();
        let with_weather = smape(test, &points);
        if with_weather <= accuracy.smape * (1.0 - WEATHER_GAIN) {
            use_weather = true;
            accuracy = Accuracy {
                smape: with_weather,
                mase: mase(train, test, &points),
                naive_smape,
            };
        }
    }

    // The forecast: the chosen model on the whole history.
    let fitted = match model {
        Model::MstlEts => mstl(history, horizon, true, use_weather),
        _ => None,
    };
    let (model, mut fitted) = match fitted {
        Some(f) => (Model::MstlEts, f),
        None => {
            // The seasonal model won the backtest but failed on the whole history: what is
            // used is seasonal-naive, so its score (and no weather, judged on the other's
            // residuals) is what the forecast says.
            if model == Model::MstlEts {
                accuracy = Accuracy {
                    smape: naive_smape,
                    mase: mase(train, test, &naive),
                    naive_smape,
                };
                use_weather = false;
            }
            (
                Model::SeasonalNaive,
                seasonal_naive_fitted(history, horizon),
            )
        }
    };
    let mut weather_adjusted = false;
    if use_weather
        && let (Some(w), Some(in_sample)) = (weather, fitted.in_sample.as_deref())
        && let Some(effect) = temperature_effect(history, in_sample, w.history)
    {
        adjust(&mut fitted.days, w.ahead, effect);
        weather_adjusted = true;
    }
    SeriesForecast {
        model,
        days: fitted.days,
        accuracy: Some(accuracy),
        weather_adjusted,
    }
}

/// One series to forecast: its history and, where known, its weather.
#[derive(Clone, Debug, Default)]
pub struct SeriesInput {
    pub history: Vec<f64>,
    pub weather: Option<WeatherSeries>,
}

/// The maximum temperature beside each history day and each day ahead (`None`: unknown).
#[derive(Clone, Debug, Default)]
pub struct WeatherSeries {
    pub history: Vec<Option<f64>>,
    pub ahead: Vec<Option<f64>>,
}

impl SeriesInput {
    pub fn of(history: Vec<f64>) -> SeriesInput {
        SeriesInput {
            history,
            weather: None,
        }
    }
}

/// [`forecast_with`], but a panic inside the model library becomes the mean model (logged):
/// one bad series must not end a run, nor shift the others' results.
fn forecast_guarded(input: &SeriesInput, horizon: usize) -> SeriesForecast {
    let weather = input.weather.as_ref().map(|w| Weather {
        history: &w.history,
        ahead: &w.ahead,
    });
    std::panic::catch_unwind(|| forecast_with(&input.history, horizon, weather)).unwrap_or_else(
        |_| {
            tracing::error!(
                days = input.history.len(),
                "the forecasting model panicked; using the mean"
            );
            SeriesForecast {
                model: Model::Mean,
                days: mean_model(&input.history, horizon),
                accuracy: None,
                weather_adjusted: false,
            }
        },
    )
}

/// Forecasts every series, spread over the machine's cores (blocking: call it from
/// `spawn_blocking` or a thread of its own). Results are in the order of `inputs`.
pub fn forecast_all(inputs: &[SeriesInput], horizon: usize) -> Vec<SeriesForecast> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(inputs.len().max(1));
    if workers <= 1 {
        return inputs
            .iter()
            .map(|input| forecast_guarded(input, horizon))
            .collect();
    }
    let chunk = inputs.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = inputs
            .chunks(chunk)
            .map(|part| {
                let handle = scope.spawn(move || {
                    part.iter()
                        .map(|input| forecast_guarded(input, horizon))
                        .collect::<Vec<_>>()
                });
                (part, handle)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(part, handle)| {
                // A worker that died (beyond the per-series guard) leaves its series to the
                // mean: every result stays beside its input.
                handle.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|input| SeriesForecast {
                            model: Model::Mean,
                            days: mean_model(&input.history, horizon),
                            accuracy: None,
                            weather_adjusted: false,
                        })
                        .collect()
                })
            })
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

/// Synthetic daily maximum temperatures, 2–22 °C: a slow swing and day-to-day noise,
/// independent of the weekday (for tests and the benchmark; deterministic by `seed`).
pub fn synthetic_temperatures(days: usize, seed: u64) -> Vec<f64> {
    let noise = synthetic_series(days, 1.0, 1.0, seed);
    (0..days)
        .map(|d| 12.0 + 6.0 * (d as f64 / 58.0).sin() + 4.0 * (noise[d] - 1.0).clamp(-1.0, 1.0))
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
        let three_weeks = synthetic_series(21, 10.0, 0.1, 1);
        let result = forecast(&three_weeks, HORIZON);
        assert_eq!(result.model, Model::SeasonalNaive);
        assert!(result.accuracy.is_some(), "a week held out is scored");
        // Two weeks: seasonal-naive, but nothing left to score it on.
        let two_weeks = synthetic_series(14, 10.0, 0.1, 1);
        let result = forecast(&two_weeks, HORIZON);
        assert_eq!(result.model, Model::SeasonalNaive);
        assert_eq!(result.accuracy, None);

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
    fn weather_is_used_where_it_explains_demand_and_only_there() {
        let (mut helped, mut declined) = (0, 0);
        for seed in 0..10 {
            let temps = synthetic_temperatures(365 + 8, 100 + seed);
            let base = synthetic_series(365, 20.0, 0.05, seed);
            // Warm days sell more: +1.5 a degree above 12 °C.
            let warm: Vec<f64> = base
                .iter()
                .zip(&temps)
                .map(|(y, t)| (y + 1.5 * (t - 12.0)).max(0.0))
                .collect();
            let history: Vec<Option<f64>> = temps[..365].iter().copied().map(Some).collect();
            let ahead: Vec<Option<f64>> =
                (0..HORIZON).map(|h| temps.get(365 + h).copied()).collect();
            let weather = Weather {
                history: &history,
                ahead: &ahead,
            };
            let with = forecast_with(&warm, HORIZON, Some(weather));
            let without = forecast(&warm, HORIZON);
            if with.weather_adjusted {
                helped += 1;
                let (a, b) = (with.accuracy.unwrap(), without.accuracy.unwrap());
                assert!(a.smape <= b.smape * (1.0 - WEATHER_GAIN), "{a:?} vs {b:?}");
                // A warm day ahead is forecast higher than the same weekday without weather.
                let hot = (0..8)
                    .max_by(|x, y| ahead[*x].partial_cmp(&ahead[*y]).unwrap())
                    .unwrap();
                if ahead[hot].unwrap() > 14.0 {
                    assert!(with.days[hot].point > without.days[hot].point);
                }
                // Beyond the days with weather, nothing moves.
                assert_eq!(
                    with.days[HORIZON - 1].point,
                    without.days[HORIZON - 1].point
                );
            }
            // Weather that explains nothing is left out.
            let plain = forecast_with(&base, HORIZON, Some(weather));
            declined += usize::from(!plain.weather_adjusted);
        }
        assert!(
            helped >= 8,
            "weather used for {helped} of 10 temperature-driven series"
        );
        assert!(
            declined >= 9,
            "weather declined for {declined} of 10 series it does not drive"
        );
    }

    #[test]
    fn forecast_all_keeps_the_order_of_its_input() {
        let inputs: Vec<SeriesInput> = (0..9)
            .map(|s| SeriesInput::of(vec![s as f64; 30]))
            .collect();
        let results = forecast_all(&inputs, 5);
        assert_eq!(results.len(), 9);
        for (s, result) in results.iter().enumerate() {
            assert!((result.days[0].point - s as f64).abs() < 1e-9);
        }
    }
}
