//! The forecasting engine alone on N synthetic series of 365 days (weekly pattern, trend,
//! 15 % noise): the time to fit, backtest and forecast them all on this machine's cores, the
//! models chosen, and the mean backtest sMAPE of the chosen models against seasonal-naive's.
//!
//!   cargo run --release --example forecast_engine -- [series=10000] [days=365]
//!
//! Then the weather: 200 series whose demand follows the temperature (+1.5 units a degree
//! above 12 °C) and 200 that do not, each forecast with and without their temperatures: how
//! often the engine kept the weather, and the backtest sMAPE it gave.
//!
//! `bench/forecast.sh` runs it before the whole `forecast-demand` job on a database.
#![allow(clippy::print_stdout)]

use std::{collections::BTreeMap, time::Instant};

use iris::domain::planning::forecasting::{
    HORIZON, SeriesInput, WeatherSeries, forecast_all, synthetic_series, synthetic_temperatures,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let series: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let days: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(365);
    let histories: Vec<SeriesInput> = (0..series)
        .map(|i| {
            SeriesInput::of(synthetic_series(
                days,
                2.0 + (i % 40) as f64,
                0.15,
                i as u64,
            ))
        })
        .collect();
    let started = Instant::now();
    let results = forecast_all(&histories, HORIZON);
    let elapsed = started.elapsed();
    let mut models: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut chosen, mut naive, mut scored) = (0.0, 0.0, 0usize);
    for result in &results {
        *models.entry(result.model.as_str()).or_default() += 1;
        if let Some(accuracy) = result.accuracy {
            chosen += accuracy.smape;
            naive += accuracy.naive_smape;
            scored += 1;
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{series} series × {days} days on {cores} core(s): {:.1} s ({:.0} series/s)",
        elapsed.as_secs_f64(),
        series as f64 / elapsed.as_secs_f64()
    );
    println!("models: {models:?}");
    if scored > 0 {
        let (chosen, naive) = (chosen / scored as f64, naive / scored as f64);
        println!(
            "backtest sMAPE over the last 28 days: chosen {chosen:.2} %, seasonal-naive {naive:.2} % ({:.0} % lower)",
            100.0 * (1.0 - chosen / naive)
        );
    }

    weather(days);
}

fn weather(days: usize) {
    for (label, effect) in [
        ("follows the temperature", 1.5),
        ("ignores the temperature", 0.0),
    ] {
        let inputs: Vec<SeriesInput> = (0..200u64)
            .map(|seed| {
                let temps = synthetic_temperatures(days + 8, 1_000 + seed);
                let history = synthetic_series(days, 20.0, 0.05, seed)
                    .iter()
                    .zip(&temps)
                    .map(|(y, t)| (y + effect * (t - 12.0)).max(0.0))
                    .collect();
                SeriesInput {
                    history,
                    weather: Some(WeatherSeries {
                        history: temps[..days].iter().copied().map(Some).collect(),
                        ahead: (0..HORIZON).map(|h| temps.get(days + h).copied()).collect(),
                    }),
                }
            })
            .collect();
        let without: Vec<SeriesInput> = inputs
            .iter()
            .map(|i| SeriesInput::of(i.history.clone()))
            .collect();
        let with = forecast_all(&inputs, HORIZON);
        let plain = forecast_all(&without, HORIZON);
        let kept = with.iter().filter(|r| r.weather_adjusted).count();
        let mean = |results: &[iris::domain::planning::forecasting::SeriesForecast]| {
            results
                .iter()
                .filter_map(|r| r.accuracy.map(|a| a.smape))
                .sum::<f64>()
                / results.len() as f64
        };
        println!(
            "weather, demand that {label}: kept for {kept} of 200; backtest sMAPE {:.2} % with it, {:.2} % without",
            mean(&with),
            mean(&plain)
        );
    }
}
