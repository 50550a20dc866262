//! Weather for forecasting: the port ([`WeatherSource`]) and its OpenWeather adapter.
//!
//! Each `forecast-demand` run asks the source for the days ahead of every city it forecasts
//! for and stores them (`weather_days`, one row per city and day, the latest answer winning),
//! so a day's stored weather is the last forecast made for it — the observation Iris keeps. The
//! forecasting engine uses the daily maximum temperature only where it backtests better
//! ([`super::forecasting`]).

use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate};
use serde::Deserialize;

use crate::error::AppError;

/// One day's weather in a city.
#[derive(Clone, Debug, PartialEq)]
pub struct WeatherDay {
    pub day: NaiveDate,
    /// °C.
    pub temp_max: f64,
    pub temp_min: f64,
    /// mm of rain and snow.
    pub precipitation: f64,
}

/// Where the days ahead come from.
#[async_trait]
pub trait WeatherSource: Send + Sync + 'static {
    /// The days ahead in `city` (today first), as many as the source gives.
    async fn days_ahead(&self, city: &str) -> Result<Vec<WeatherDay>, AppError>;
}

/// `OPENWEATHER_*` settings; weather is off without a key.
#[derive(Clone, Debug)]
pub struct WeatherConfig {
    pub api_key: Option<String>,
    /// `https://api.openweathermap.org` (a fake's address in tests).
    pub api_url: String,
    /// The city of a restaurant without one.
    pub default_city: String,
    pub timeout: Duration,
}

/// OpenWeather: the city's position from the geocoding API (kept for the process's life),
/// then One Call 3.0's daily forecast (8 days, metric).
pub struct OpenWeather {
    client: reqwest::Client,
    base: String,
    key: String,
    positions: Mutex<HashMap<String, (f64, f64)>>,
}

#[derive(Deserialize)]
struct Place {
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
struct OneCall {
    #[serde(default)]
    timezone_offset: i64,
    daily: Vec<Daily>,
}

#[derive(Deserialize)]
struct Daily {
    dt: i64,
    temp: Temperatures,
    #[serde(default)]
    rain: f64,
    #[serde(default)]
    snow: f64,
}

#[derive(Deserialize)]
struct Temperatures {
    min: f64,
    max: f64,
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> AppError {
    AppError::Unavailable(format!("OpenWeather {what}: {error}"))
}

impl OpenWeather {
    pub fn new(config: &WeatherConfig, key: String) -> anyhow::Result<OpenWeather> {
        Ok(OpenWeather {
            client: reqwest::Client::builder()
                .timeout(config.timeout)
                .user_agent(concat!("Iris/", env!("CARGO_PKG_VERSION")))
                .build()?,
            base: config.api_url.trim_end_matches('/').to_owned(),
            key,
            positions: Mutex::new(HashMap::new()),
        })
    }

    async fn position(&self, city: &str) -> Result<(f64, f64), AppError> {
        let cached = self
            .positions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(city)
            .copied();
        if let Some(position) = cached {
            return Ok(position);
        }
        let places: Vec<Place> = self
            .client
            .get(format!("{}/geo/1.0/direct", self.base))
            .query(&[("q", city), ("limit", "1"), ("appid", self.key.as_str())])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable("geocoding", e.without_url()))?
            .json()
            .await
            .map_err(|e| unavailable("geocoding answer", e.without_url()))?;
        let place = places
            .first()
            .ok_or_else(|| unavailable("geocoding", format!("no place called {city:?}")))?;
        let position = (place.lat, place.lon);
        self.positions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(city.to_owned(), position);
        Ok(position)
    }
}

#[async_trait]
impl WeatherSource for OpenWeather {
    async fn days_ahead(&self, city: &str) -> Result<Vec<WeatherDay>, AppError> {
        let (lat, lon) = self.position(city).await?;
        let answer: OneCall = self
            .client
            .get(format!("{}/data/3.0/onecall", self.base))
            .query(&[
                ("lat", lat.to_string()),
                ("lon", lon.to_string()),
                ("exclude", "current,minutely,hourly,alerts".to_owned()),
                ("units", "metric".to_owned()),
                ("appid", self.key.clone()),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable("forecast", e.without_url()))?
            .json()
            .await
            .map_err(|e| unavailable("forecast answer", e.without_url()))?;
        answer
            .daily
            .into_iter()
            .map(|d| {
                // `dt` is the local day's noon: its local date is the day.
                let day = DateTime::from_timestamp(d.dt + answer.timezone_offset, 0)
                    .ok_or_else(|| unavailable("forecast answer", format!("bad time {}", d.dt)))?
                    .date_naive();
                Ok(WeatherDay {
                    day,
                    temp_max: d.temp.max,
                    temp_min: d.temp.min,
                    precipitation: d.rain + d.snow,
                })
            })
            .collect()
    }
}
