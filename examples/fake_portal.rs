//! The tests' fake wholesaler portal as a program, for the connector-sync benchmark
//! (`bench/connector-sync.sh`): serves N articles, P per page, in both connector shapes, and
//! writes a `CONNECTOR_CONFIG_DIR` pointing the shipped connectors at itself.
//!
//!   cargo run --release --example fake_portal -- [articles=50000] [per page=250] [config dir]

#[path = "../tests/api/portal.rs"]
mod portal;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (articles, per_page) = (arg(1, 50_000), arg(2, 250));
    let fake = portal::FakePortal::start(portal::articles(articles), per_page).await;
    let dir = fake.config_dir();
    if let Some(target) = std::env::args().nth(3) {
        std::fs::create_dir_all(&target)?;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            std::fs::copy(
                entry.path(),
                std::path::Path::new(&target).join(entry.file_name()),
            )?;
        }
    }
    // The one line the benchmark script reads.
    eprintln!(
        "fake portal {} serving {articles} articles, {per_page} a page; username {} password {}",
        fake.url,
        portal::USERNAME,
        portal::PASSWORD
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
