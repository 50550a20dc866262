//! A wholesaler's portal as a connector sees it: signing in (the credentials pass through
//! once; the session's cookies are what is kept), reading pages through the configured driver
//! at the configured pace, and reading catalog items, invoices and page structure out of the
//! HTML with the configured selectors.
//!
//! Nothing here logs a credential, a cookie or a page; errors name the step and the status.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use rand::Rng as _;
use reqwest::{StatusCode, header};
use scraper::{ElementRef, Html, Selector};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::sync::Mutex;

use super::{
    browser::Browser,
    config::{ConnectorConfig, DriverKind, Field},
};

/// A restaurant's credentials, held only while a session is opened. `Debug` hides them.
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// A session at a portal: the cookies it set and the user agent it was opened with. Sealed at
/// rest; `Debug` hides the cookies' values.
#[derive(Clone, Serialize, Deserialize)]
pub struct PortalSession {
    pub cookies: Vec<(String, String)>,
    pub user_agent: String,
}

impl fmt::Debug for PortalSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.cookies.iter().map(|(n, _)| n.as_str()).collect();
        write!(f, "PortalSession(cookies: {names:?})")
    }
}

impl PortalSession {
    /// `request` as this session sends it: its user agent and its cookies.
    fn on(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let request = request.header(header::USER_AGENT, &self.user_agent);
        if self.cookies.is_empty() {
            request
        } else {
            request.header(header::COOKIE, self.cookie_header())
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(header::SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
                self.cookies.retain(|(n, _)| *n != name);
                if !value.is_empty() {
                    self.cookies.push((name, value));
                }
            }
        }
    }
}

/// Why the portal did not answer as hoped.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("the portal refused the credentials")]
    AuthRefused,
    #[error("the portal no longer accepts the session")]
    SessionEnded,
    #[error("the connector's terms do not allow fetching from this portal")]
    NotAllowed,
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Unexpected(String),
}

/// One raw catalog item, as the selectors read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawItem {
    pub external_id: String,
    pub name: String,
    pub price: String,
    pub unit: String,
    pub pack: Option<String>,
    pub stock: Option<String>,
    pub gtin: Option<String>,
}

/// One invoice listed on the portal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedInvoice {
    pub external_id: String,
    pub href: String,
}

/// Spaces requests: at most the configured rate, each after a random jitter.
struct Pacer {
    next: Instant,
    interval: Duration,
    jitter: [u64; 2],
}

impl Pacer {
    async fn wait(&mut self) {
        let jitter = if self.jitter[1] > 0 {
            rand::rng().random_range(self.jitter[0]..=self.jitter[1])
        } else {
            0
        };
        let at = self.next.max(Instant::now()) + Duration::from_millis(jitter);
        tokio::time::sleep_until(at.into()).await;
        self.next = Instant::now() + self.interval;
    }
}

/// A portal for one piece of work (a connect, a sync, a prefill, a watch): one pace, and for
/// the browser driver one browser, closed when the portal is dropped.
pub struct Portal {
    config: Arc<ConnectorConfig>,
    http: reqwest::Client,
    pacer: Mutex<Pacer>,
    driver: Box<dyn PageDriver>,
}

/// How a connector reads a portal's pages: the configured driver. Both carry the session's
/// cookies and user agent; the portal paces them.
#[async_trait::async_trait]
pub trait PageDriver: Send + Sync {
    /// The HTML of the page at `url` once `ready` (a selector) matches, where the driver runs
    /// scripts; `SessionEnded` when the portal answers with its sign-in instead.
    async fn read(
        &self,
        config: &ConnectorConfig,
        session: &PortalSession,
        url: &str,
        ready: Option<&str>,
    ) -> Result<String, PortalError>;
}

/// Plain HTTP: the HTML as served.
struct HttpDriver {
    http: reqwest::Client,
}

#[async_trait::async_trait]
impl PageDriver for HttpDriver {
    async fn read(
        &self,
        config: &ConnectorConfig,
        session: &PortalSession,
        url: &str,
        _ready: Option<&str>,
    ) -> Result<String, PortalError> {
        let response = session.on(self.http.get(url)).send().await.map_err(|e| {
            PortalError::Unreachable(format!(
                "{} did not answer: {}",
                config.name,
                without_url(&e)
            ))
        })?;
        let status = response.status();
        if status.is_redirection()
            || status == StatusCode::UNAUTHORIZED
            || status == StatusCode::FORBIDDEN
        {
            return Err(PortalError::SessionEnded);
        }
        if !status.is_success() {
            return Err(PortalError::Unexpected(format!(
                "{} answered {status} for a page",
                config.name
            )));
        }
        read_text(response).await
    }
}

/// Headless Chromium: the HTML after the page's scripts ran. One browser per portal (per
/// piece of work), started at the first page and killed with the portal.
struct BrowserDriver {
    chromium: String,
    browser: Mutex<Option<(Browser, tokio::sync::OwnedSemaphorePermit)>>,
}

/// Browsers one process runs at once.
const MAX_BROWSERS: usize = 2;
static BROWSERS: std::sync::LazyLock<Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(MAX_BROWSERS)));

#[async_trait::async_trait]
impl PageDriver for BrowserDriver {
    async fn read(
        &self,
        config: &ConnectorConfig,
        session: &PortalSession,
        url: &str,
        ready: Option<&str>,
    ) -> Result<String, PortalError> {
        // The detail (paths, the browser's words) goes to the log; callers see what failed.
        let failed = |step: &str, e: anyhow::Error| {
            tracing::warn!(connector = %config.key, error = format!("{e:#}"), "the headless browser {step}");
            PortalError::Unexpected(format!("the headless browser {step} (see the server log)"))
        };
        let mut browser = self.browser.lock().await;
        if browser.is_none() {
            // At most a few browsers per process, however many syncs run.
            let permit = BROWSERS
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| PortalError::Unexpected("the browser pool closed".into()))?;
            let launched = Browser::launch(
                &self.chromium,
                &config.base_url,
                &config.browser_allowed_hosts,
                session,
            )
            .await
            .map_err(|e| failed("did not start", e))?;
            *browser = Some((launched, permit));
        }
        let Some((open, _permit)) = browser.as_mut() else {
            return Err(PortalError::Unexpected("no browser".into()));
        };
        open.render(url, ready, Some(config.login.form.as_str()))
            .await
            .map_err(|e| failed("could not read a page", e))?
            .ok_or(PortalError::SessionEnded)
    }
}

/// Longest wait for one page or request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest page or document read.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

impl Portal {
    pub fn new(config: Arc<ConnectorConfig>, chromium: &str) -> Result<Portal, PortalError> {
        if !config.allowed {
            return Err(PortalError::NotAllowed);
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| PortalError::Unexpected(format!("HTTP client: {e}")))?;
        let interval = Duration::from_secs_f64(1.0 / config.rate_limit_per_second);
        Ok(Portal {
            pacer: Mutex::new(Pacer {
                next: Instant::now(),
                interval,
                jitter: config.jitter_ms,
            }),
            driver: match config.driver {
                DriverKind::Http => Box::new(HttpDriver { http: http.clone() }),
                DriverKind::Browser => Box::new(BrowserDriver {
                    chromium: chromium.to_owned(),
                    browser: Mutex::new(None),
                }),
            },
            http,
            config,
        })
    }

    pub fn config(&self) -> &ConnectorConfig {
        &self.config
    }

    /// Opens a session with the restaurant's credentials: the login page (its anti-forgery
    /// field and cookies), then the form. The credentials go nowhere else.
    pub async fn login(&self, credentials: &Credentials) -> Result<PortalSession, PortalError> {
        let login = &self.config.login;
        let agents = &self.config.user_agents;
        let user_agent = agents[rand::rng().random_range(0..agents.len())].clone();
        let mut session = PortalSession {
            cookies: Vec::new(),
            user_agent,
        };
        let page = self
            .send(&session, self.http.get(self.config.url(&login.page)))
            .await?;
        session.absorb(&page);
        let status = page.status();
        let html = read_text(page).await?;
        if !status.is_success() {
            return Err(PortalError::Unexpected(format!(
                "the login page answered {status}"
            )));
        }
        let mut form: Vec<(String, String)> = vec![
            (login.username_field.clone(), credentials.username.clone()),
            (login.password_field.clone(), credentials.password.clone()),
        ];
        if let Some(csrf) = &login.csrf_field
            && let Some(token) = input_value(&html, csrf)
        {
            form.push((csrf.clone(), token));
        }
        let answer = self
            .send(
                &session,
                self.http.post(self.config.url(&login.action)).form(&form),
            )
            .await?;
        session.absorb(&answer);
        let status = answer.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(PortalError::AuthRefused);
        }
        if status.is_server_error() {
            return Err(PortalError::Unreachable(format!(
                "the portal answered {status} to the sign-in"
            )));
        }
        if !session
            .cookies
            .iter()
            .any(|(name, _)| *name == login.session_cookie)
        {
            return Err(PortalError::AuthRefused);
        }
        Ok(session)
    }

    async fn send(
        &self,
        session: &PortalSession,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, PortalError> {
        self.pacer.lock().await.wait().await;
        session.on(request).send().await.map_err(|e| {
            PortalError::Unreachable(format!(
                "{} did not answer: {}",
                self.config.name,
                without_url(&e)
            ))
        })
    }

    /// A page anyone may read (the sign-in page), over plain HTTP without the session.
    pub async fn public_page(&self, path: &str) -> Result<String, PortalError> {
        let anonymous = PortalSession {
            cookies: Vec::new(),
            user_agent: self.config.user_agents[0].clone(),
        };
        let response = self
            .send(&anonymous, self.http.get(self.config.url(path)))
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(PortalError::Unexpected(format!(
                "{} answered {status} for its sign-in page",
                self.config.name
            )));
        }
        read_text(response).await
    }

    /// A page's HTML through the configured driver; a page that shows the sign-in form (or a
    /// redirect or refusal) means the session ended.
    pub async fn page(
        &self,
        session: &PortalSession,
        path: &str,
        ready: Option<&str>,
    ) -> Result<String, PortalError> {
        self.pacer.lock().await.wait().await;
        let html = self
            .driver
            .read(&self.config, session, &self.config.url(path), ready)
            .await?;
        if matches_any(&html, &self.config.login.form) {
            return Err(PortalError::SessionEnded);
        }
        Ok(html)
    }

    /// Page `number` of the catalog: its items, and whether another page follows.
    pub async fn catalog_page(
        &self,
        session: &PortalSession,
        number: u32,
    ) -> Result<(Vec<RawItem>, bool), PortalError> {
        let catalog = &self.config.catalog;
        let path = catalog.path.replace("{page}", &number.to_string());
        let html = self.page(session, &path, catalog.ready.as_deref()).await?;
        Ok(read_catalog(&self.config, &html))
    }

    /// The invoices the portal lists.
    pub async fn invoices(
        &self,
        session: &PortalSession,
    ) -> Result<Vec<ListedInvoice>, PortalError> {
        let html = self.page(session, &self.config.invoices.path, None).await?;
        Ok(read_invoices(&self.config, &html))
    }

    /// A document the portal links to (always over plain HTTP with the session's cookies).
    pub async fn download(
        &self,
        session: &PortalSession,
        href: &str,
    ) -> Result<Vec<u8>, PortalError> {
        let url = self.config.url(href);
        if !same_origin(&url, &self.config.base_url) {
            return Err(PortalError::Unexpected(
                "an invoice link leads off the portal; not followed".into(),
            ));
        }
        let response = self.send(session, self.http.get(url)).await?;
        let status = response.status();
        if status.is_redirection()
            || status == StatusCode::UNAUTHORIZED
            || status == StatusCode::FORBIDDEN
        {
            return Err(PortalError::SessionEnded);
        }
        if !status.is_success() {
            return Err(PortalError::Unexpected(format!(
                "{} answered {status} for a document",
                self.config.name
            )));
        }
        read_bytes(response).await
    }

    /// Fills the portal's cart (never submits it); returns the page where the restaurant
    /// reviews and submits it.
    pub async fn fill_cart(
        &self,
        session: &PortalSession,
        lines: &[(String, i64)],
    ) -> Result<String, PortalError> {
        let cart = &self.config.cart;
        let body = serde_json::json!({
            "lines": lines
                .iter()
                .map(|(id, quantity)| serde_json::json!({ "articleNumber": id, "quantity": quantity }))
                .collect::<Vec<_>>(),
        });
        let response = self
            .send(
                session,
                self.http.post(self.config.url(&cart.path)).json(&body),
            )
            .await?;
        let status = response.status();
        if status.is_redirection()
            || status == StatusCode::UNAUTHORIZED
            || status == StatusCode::FORBIDDEN
        {
            return Err(PortalError::SessionEnded);
        }
        if !status.is_success() {
            return Err(PortalError::Unexpected(format!(
                "{} answered {status} to the cart",
                self.config.name
            )));
        }
        let answer: serde_json::Value = serde_json::from_slice(&read_bytes(response).await?)
            .map_err(|_| PortalError::Unexpected("the cart's answer is not JSON".into()))?;
        let id = match &answer[&cart.cart_id_field] {
            serde_json::Value::String(s) if !s.is_empty() => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(PortalError::Unexpected(format!(
                    "the cart's answer has no `{}`",
                    cart.cart_id_field
                )));
            }
        };
        let encoded: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        Ok(self
            .config
            .url(&cart.deep_link.replace("{cart_id}", &encoded)))
    }
}

fn without_url(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "connection refused or unreachable".into()
    } else {
        // The URL may carry a query a portal put there: leave it out.
        let text = error.to_string();
        match error.url() {
            Some(url) => text.replace(url.as_str(), "<portal>"),
            None => text,
        }
    }
}

fn same_origin(url: &str, base: &str) -> bool {
    match (reqwest::Url::parse(url), reqwest::Url::parse(base)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

async fn read_bytes(mut response: reqwest::Response) -> Result<Vec<u8>, PortalError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        PortalError::Unreachable(format!("reading the portal's answer: {}", without_url(&e)))
    })? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(PortalError::Unexpected(format!(
                "the portal's answer is over {MAX_BODY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_text(response: reqwest::Response) -> Result<String, PortalError> {
    Ok(String::from_utf8_lossy(&read_bytes(response).await?).into_owned())
}

fn selector(text: &str) -> Option<Selector> {
    Selector::parse(text).ok()
}

fn matches_any(html: &str, css: &str) -> bool {
    let Some(sel) = selector(css) else {
        return false;
    };
    Html::parse_document(html).select(&sel).next().is_some()
}

/// The value of the form input named `name`.
fn input_value(html: &str, name: &str) -> Option<String> {
    let sel = selector(&format!("input[name=\"{}\"]", name.replace('"', "")))?;
    Html::parse_document(html)
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_owned)
}

/// Text with whitespace collapsed.
fn text_of(element: ElementRef<'_>) -> String {
    element
        .text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A field of `item`, or `None` when its selector matches nothing (or the attribute is absent).
fn read_field(item: ElementRef<'_>, field: &Field, compiled: Option<&Selector>) -> Option<String> {
    let element = if field.selector.is_empty() {
        Some(item)
    } else {
        compiled.and_then(|s| item.select(s).next())
    }?;
    match &field.attr {
        Some(attr) => element.value().attr(attr).map(|v| v.trim().to_owned()),
        None => Some(text_of(element)),
    }
}

/// The items of a catalog page and whether a next page is linked.
pub fn read_catalog(config: &ConnectorConfig, html: &str) -> (Vec<RawItem>, bool) {
    let document = Html::parse_document(html);
    let Some(item_selector) = selector(&config.catalog.item) else {
        return (Vec::new(), false);
    };
    let f = &config.catalog.fields;
    let compile = |field: &Field| selector(&field.selector);
    let compiled = [
        compile(&f.external_id),
        compile(&f.name),
        compile(&f.price),
        compile(&f.unit),
    ];
    let pack = f.pack.as_ref().map(|x| (x, compile(x)));
    let stock = f.stock.as_ref().map(|x| (x, compile(x)));
    let gtin = f.gtin.as_ref().map(|x| (x, compile(x)));
    let optional = |item: ElementRef<'_>, field: &Option<(&Field, Option<Selector>)>| {
        field
            .as_ref()
            .and_then(|(field, compiled)| read_field(item, field, compiled.as_ref()))
            .filter(|v| !v.is_empty())
    };
    let items: Vec<RawItem> = document
        .select(&item_selector)
        .map(|item| RawItem {
            external_id: read_field(item, &f.external_id, compiled[0].as_ref()).unwrap_or_default(),
            name: read_field(item, &f.name, compiled[1].as_ref()).unwrap_or_default(),
            price: read_field(item, &f.price, compiled[2].as_ref()).unwrap_or_default(),
            unit: read_field(item, &f.unit, compiled[3].as_ref()).unwrap_or_default(),
            pack: optional(item, &pack),
            stock: optional(item, &stock),
            gtin: optional(item, &gtin),
        })
        .collect();
    let more = match config.catalog.next.as_deref().and_then(selector) {
        Some(next) => document.select(&next).next().is_some(),
        None => !items.is_empty(),
    };
    (items, more)
}

/// The invoices a page lists (items without an id or a link are left out).
pub fn read_invoices(config: &ConnectorConfig, html: &str) -> Vec<ListedInvoice> {
    let document = Html::parse_document(html);
    let Some(item_selector) = selector(&config.invoices.item) else {
        return Vec::new();
    };
    let (id, href) = (&config.invoices.id, &config.invoices.href);
    let (id_sel, href_sel) = (selector(&id.selector), selector(&href.selector));
    document
        .select(&item_selector)
        .filter_map(|item| {
            let external_id = read_field(item, id, id_sel.as_ref())?;
            let link = read_field(item, href, href_sel.as_ref())?;
            (!external_id.is_empty() && !link.is_empty()).then_some(ListedInvoice {
                external_id,
                href: link,
            })
        })
        .collect()
}

/// What the DOM watcher found on one page.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PageCheck {
    pub page: String,
    /// A digest of the page's structure (tags and classes, repeated siblings once, no text).
    pub fingerprint: String,
    /// Configured selectors that matched nothing, by name.
    pub missing: Vec<String>,
}

/// Checks the selectors that belong on `page` against its HTML and fingerprints its structure.
/// `items` names the item selector whose first items the `fields` must be found in.
pub fn check_page(
    page: &str,
    html: &str,
    required: &[(String, String)],
    items: Option<(&str, &[(&str, &Field)])>,
) -> PageCheck {
    let document = Html::parse_document(html);
    let mut missing = Vec::new();
    for (name, css) in required {
        let found = selector(css).is_some_and(|s| document.select(&s).next().is_some());
        if !found {
            missing.push(name.clone());
        }
    }
    if let Some((item_css, fields)) = items {
        let sample: Vec<ElementRef<'_>> = selector(item_css)
            .map(|s| document.select(&s).take(20).collect())
            .unwrap_or_default();
        if !sample.is_empty() {
            for (name, field) in fields {
                let compiled = selector(&field.selector);
                let found = sample.iter().any(|item| {
                    read_field(*item, field, compiled.as_ref()).is_some_and(|v| !v.is_empty())
                });
                if !found {
                    missing.push(format!("catalog.fields.{name}"));
                }
            }
        }
    }
    PageCheck {
        page: page.to_owned(),
        fingerprint: fingerprint(&document),
        missing,
    }
}

fn fingerprint(document: &Html) -> String {
    fn shape(element: ElementRef<'_>, depth: usize, out: &mut String) {
        let value = element.value();
        out.push('<');
        out.push_str(value.name());
        let mut classes: Vec<&str> = value.classes().collect();
        classes.sort_unstable();
        for class in classes {
            out.push('.');
            out.push_str(class);
        }
        if depth < 64 {
            let mut previous = String::new();
            for child in element.children().filter_map(ElementRef::wrap) {
                let mut own = String::new();
                shape(child, depth + 1, &mut own);
                // Repeated siblings (catalog rows) count once: the structure, not the stock.
                if own != previous {
                    out.push_str(&own);
                    previous = own;
                }
            }
        }
        out.push('>');
    }
    let mut out = String::new();
    shape(document.root_element(), 0, &mut out);
    let digest = Sha256::digest(out.as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ConnectorConfig {
        super::super::config::load(None)
            .unwrap()
            .remove("martin_servera")
            .unwrap()
    }

    const PAGE: &str = r#"<html><body><main>
      <article class="product-tile" data-article-number="100234" data-gtin="7310865004703">
        <h3 class="product-tile__name"> Grädde  36 % </h3>
        <span class="product-tile__price">1 234,50 kr</span>
        <span class="product-tile__unit">krt</span>
        <span class="product-tile__pack">6x1 l</span>
        <span class="product-tile__stock">I lager</span>
      </article>
      <article class="product-tile" data-article-number="100235">
        <h3 class="product-tile__name">Smör</h3>
        <span class="product-tile__price">89,90</span>
        <span class="product-tile__unit">st</span>
      </article>
      <a rel="next" href="?page=2">Nästa</a>
    </main></body></html>"#;

    #[test]
    fn catalog_items_are_read_with_the_configured_selectors() {
        let (items, more) = read_catalog(&config(), PAGE);
        assert!(more);
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0],
            RawItem {
                external_id: "100234".into(),
                name: "Grädde 36 %".into(),
                price: "1 234,50 kr".into(),
                unit: "krt".into(),
                pack: Some("6x1 l".into()),
                stock: Some("I lager".into()),
                gtin: Some("7310865004703".into()),
            }
        );
        assert_eq!(items[1].pack, None);
    }

    #[test]
    fn the_fingerprint_ignores_text_and_row_counts_but_not_structure() {
        let c = config();
        let fields = c.catalog_fields();
        let required = vec![("catalog.item".to_owned(), c.catalog.item.clone())];
        let a = check_page("catalog", PAGE, &required, Some((&c.catalog.item, &fields)));
        assert!(a.missing.is_empty(), "{:?}", a.missing);
        let fewer = PAGE.replace("Smör", "Ost");
        assert_eq!(
            check_page("catalog", &fewer, &required, None).fingerprint,
            a.fingerprint
        );
        let renamed = PAGE.replace("product-tile__price", "tile-price");
        let b = check_page(
            "catalog",
            &renamed,
            &required,
            Some((&c.catalog.item, &fields)),
        );
        assert_ne!(b.fingerprint, a.fingerprint);
        assert_eq!(b.missing, ["catalog.fields.price"]);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let session = PortalSession {
            cookies: vec![("MS_SESSION".into(), "s3cr3t".into())],
            user_agent: "ua".into(),
        };
        assert!(!format!("{session:?}").contains("s3cr3t"));
        let credentials = Credentials {
            username: "chef".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{credentials:?}").contains("hunter2"));
    }
}
