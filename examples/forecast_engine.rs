//! The forecasting engine alone on N synthetic series of 365 days (weekly pattern, trend,
//! 15 % noise): the time to fit, backtest and forecast them all on this machine's cores, the
//! models chosen, and the mean backtest sMAPE of the chosen models against seasonal-naive's.
//!
//!   cargo run --release --example forecast_engine -- [series=10000] [days=365]
//!
//! `bench/forecast.sh` runs it before the whole `forecast-demand` job on a database.
#![allow(clippy::print_stdout)]

use std::{collections::BTreeMap, time::Instant};

use iris::domain::planning::forecasting::{HORIZON, SeriesInput, forecast_all, synthetic_series};

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
}
