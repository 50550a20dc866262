//! `forecast-demand`: the nightly forecast of every demand series (planning).

use async_trait::async_trait;
use serde_json::json;

use crate::{
    domain::{
        Services,
        platform::job_runs::{JobSpec, Progress, Work},
    },
    error::AppError,
};

pub const SPEC: JobSpec = JobSpec {
    name: "forecast-demand",
    default_schedule: "0 0 2 * * *",
    env: "JOB_FORECAST_DEMAND_SCHEDULE",
    description: "Forecasts 30 days of demand for every restaurant's and supplier's products from the last year of usage and orders, backtesting each model on the last 28 days.",
};

pub struct ForecastDemand;

#[async_trait]
impl Work for ForecastDemand {
    async fn run(
        &self,
        services: &Services,
        progress: &Progress<'_>,
    ) -> Result<serde_json::Value, AppError> {
        let run = services
            .planning
            .run_forecasts(|done, total| progress.report(json!({ "series": done, "of": total })))
            .await?;
        Ok(json!({
            "series": run.series,
            "models": run.models,
            "meanSmape": run.mean_smape,
            "meanNaiveSmape": run.mean_naive_smape,
            "weatherAdjusted": run.weather_adjusted,
            "weatherCities": run.weather_cities,
            "weatherFailures": run.weather_failures,
        }))
    }
}
