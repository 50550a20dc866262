//! The headless-browser driver: Debian's `chromium` started per piece of work and driven over
//! the DevTools protocol (a websocket of JSON commands), for portals whose pages are rendered
//! by script. It carries the session's cookies and user agent, opens a page, waits until the
//! configured selector is there, and hands back the rendered HTML.
//!
//! The browser runs with a throw-away profile directory, is killed when dropped, and is never
//! given the credentials (sign-in happens over HTTP before).

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::{Context as _, anyhow, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    net::TcpStream,
    process::{Child, Command},
};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use super::portal::PortalSession;

/// Longest wait for the browser to start, and for a page to be ready.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// A running headless Chromium with one page attached.
pub struct Browser {
    child: Child,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session_id: String,
    next_id: u64,
    profile: PathBuf,
}

impl Browser {
    /// Starts `program` (a path or a name on `PATH`), opens a page with the session's cookies
    /// set for `base_url` and its user agent.
    pub async fn launch(
        program: &str,
        base_url: &str,
        allowed_hosts: &[String],
        session: &PortalSession,
    ) -> anyhow::Result<Browser> {
        let profile = std::env::temp_dir().join(format!("iris-chromium-{}", uuid::Uuid::now_v7()));
        // Everything but the portal (and the hosts its configuration allows, e.g. its CDN)
        // goes to a proxy that does not exist: a page's scripts reach neither other hosts nor
        // loopback or internal addresses.
        let base = reqwest::Url::parse(base_url).context("the connector's base URL")?;
        let mut bypass = vec!["<-loopback>".to_owned()];
        for host in std::iter::once(base.host_str().unwrap_or_default().to_owned())
            .chain(allowed_hosts.iter().cloned())
        {
            bypass.push(
                match (base.port(), host == base.host_str().unwrap_or_default()) {
                    (Some(port), true) => format!("{host}:{port}"),
                    _ => host,
                },
            );
        }
        let mut child = Command::new(program)
            // Nothing of Iris's environment (its secrets) reaches the browser.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &profile)
            .args([
                "--proxy-server=http://127.0.0.1:9",
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-background-networking",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--proxy-bypass-list={}", bypass.join(";")))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow!(
                        "the browser driver needs Chromium: install the Debian package `chromium` or set CHROMIUM_PATH (`{program}` was not found)"
                    )
                } else {
                    anyhow!("starting {program}: {e}")
                }
            })?;
        let stderr = child.stderr.take().context("the browser's stderr")?;
        let endpoint = tokio::time::timeout(START_TIMEOUT, async {
            let mut lines = BufReader::new(stderr).lines();
            while let Some(line) = lines.next_line().await? {
                if let Some(at) = line.find("ws://") {
                    let url = line[at..].trim().to_owned();
                    // Keep draining stderr so the browser never blocks on a full pipe.
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    return Ok::<_, anyhow::Error>(url);
                }
            }
            bail!("the browser exited before it listened")
        })
        .await
        .context("the browser did not start in time")??;
        let (socket, _) = tokio_tungstenite::connect_async(endpoint.as_str())
            .await
            .context("connecting to the browser")?;
        let mut browser = Browser {
            child,
            socket,
            session_id: String::new(),
            next_id: 0,
            profile,
        };
        let target = browser
            .call("Target.createTarget", json!({ "url": "about:blank" }))
            .await?;
        let target_id = target["targetId"]
            .as_str()
            .context("no target id")?
            .to_owned();
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await?;
        browser.session_id = attached["sessionId"]
            .as_str()
            .context("no session id")?
            .to_owned();
        browser
            .call(
                "Network.setUserAgentOverride",
                json!({ "userAgent": session.user_agent }),
            )
            .await?;
        let cookies: Vec<Value> = session
            .cookies
            .iter()
            .map(|(name, value)| {
                json!({
                    "name": name, "value": value, "url": base_url,
                    // The page's own scripts (third-party ones included) never read the session.
                    "httpOnly": true, "secure": base.scheme() == "https",
                })
            })
            .collect();
        browser
            .call("Network.setCookies", json!({ "cookies": cookies }))
            .await?;
        Ok(browser)
    }

    /// Sends one command (to the page once attached) and waits for its answer; events in
    /// between are not needed and pass by.
    async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if !self.session_id.is_empty() {
            message["sessionId"] = json!(self.session_id);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .with_context(|| format!("sending {method}"))?;
        let answer = tokio::time::timeout(PAGE_TIMEOUT, async {
            while let Some(frame) = self.socket.next().await {
                let frame = frame?;
                let Message::Text(text) = frame else { continue };
                let value: Value = serde_json::from_str(text.as_str())?;
                if value["id"].as_u64() == Some(id) {
                    return Ok::<_, anyhow::Error>(value);
                }
            }
            bail!("the browser closed its connection")
        })
        .await
        .with_context(|| format!("{method} timed out"))??;
        if let Some(error) = answer.get("error") {
            bail!(
                "{method}: {}",
                error["message"].as_str().unwrap_or("failed")
            );
        }
        Ok(answer["result"].clone())
    }

    async fn evaluate(&mut self, expression: &str) -> anyhow::Result<Value> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            )
            .await?;
        if result.get("exceptionDetails").is_some() {
            bail!("the page's script failed");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Opens `url` and returns its HTML once the document is loaded and `ready` (if any)
    /// matches; `None` when the page shows `logged_out` instead (the session ended).
    pub async fn render(
        &mut self,
        url: &str,
        ready: Option<&str>,
        logged_out: Option<&str>,
    ) -> anyhow::Result<Option<String>> {
        let navigated = self.call("Page.navigate", json!({ "url": url })).await?;
        if let Some(error) = navigated["errorText"].as_str() {
            bail!("the page did not load: {error}");
        }
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let probe = format!(
            "(() => {{ if (document.readyState !== 'complete') return 'loading'; \
               const out = {out}; if (out && document.querySelector(out)) return 'out'; \
               const ready = {ready}; if (ready && !document.querySelector(ready)) return 'loading'; \
               return 'ready'; }})()",
            out = logged_out.map(quote).unwrap_or_else(|| "null".into()),
            ready = ready.map(quote).unwrap_or_else(|| "null".into()),
        );
        let deadline = tokio::time::Instant::now() + PAGE_TIMEOUT;
        loop {
            // A navigation in progress may refuse the probe; that is "not yet".
            match self
                .evaluate(&probe)
                .await
                .ok()
                .as_ref()
                .and_then(Value::as_str)
            {
                Some("ready") => break,
                Some("out") => return Ok(None),
                _ => {}
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the page was not ready within {} s", PAGE_TIMEOUT.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let html = self.evaluate("document.documentElement.outerHTML").await?;
        Ok(Some(html.as_str().unwrap_or_default().to_owned()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let profile = self.profile.clone();
        // The profile directory goes once the browser has let go of it.
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            let _ = std::fs::remove_dir_all(profile);
        });
    }
}
