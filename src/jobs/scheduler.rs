//! The cron scheduler (tokio-cron-scheduler) inside `iris serve` and `iris worker`: fires every
//! registered job on its schedule until shutdown.

use chrono::Utc;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::{domain::platform::job_runs::JobRegistry, infra::shutdown::Shutdown};

/// Starts firing every job; stops (no new runs) when `shutdown` fires.
pub async fn start(
    jobs: JobRegistry,
    mut shutdown: Shutdown,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut scheduler = JobScheduler::new().await?;
    for job in jobs.scheduled() {
        let (jobs, job) = (jobs.clone(), job.clone());
        let expression = job.schedule.clone();
        let name = job.spec.name;
        scheduler
            .add(Job::new_async(expression.as_str(), move |_, _| {
                let (jobs, job) = (jobs.clone(), job.clone());
                Box::pin(async move { jobs.run_tick(&job, Utc::now()).await })
            })?)
            .await?;
        tracing::info!(job = name, schedule = %expression, "job scheduled");
    }
    scheduler.start().await?;
    Ok(tokio::spawn(async move {
        shutdown.wait().await;
        if let Err(error) = scheduler.shutdown().await {
            tracing::warn!(error = %error, "stopping the scheduler failed");
        }
    }))
}
