//! Connector configurations: each wholesaler is data, not code — where its portal is, how to
//! sign in, which pages hold the catalog and which selectors read it, where the cart and the
//! invoices are, how politely to ask (rate, jitter, user agents) and whether its terms allow
//! it at all (`allowed`).
//!
//! The shipped configurations (`connectors/*.json`) are compiled in; a directory
//! (`CONNECTOR_CONFIG_DIR`) may hold `<key>.json` files merged over them (a JSON merge patch:
//! fix a selector the DOM watcher found broken, point a connector at a staging portal) or
//! adding new connectors. Every configuration is checked at start-up: a bad one stops Iris with
//! the file and the field named.

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Deserializer};

/// The shipped configurations.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "martin_servera",
        include_str!("connectors/martin_servera.json"),
    ),
    ("menigo", include_str!("connectors/menigo.json")),
];

/// Longest a portal session may be kept (the consent promises no more than 24 hours).
pub const MAX_SESSION_TTL_MINUTES: u32 = 24 * 60;

/// How pages are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    /// Plain HTTP; the HTML as served.
    Http,
    /// Headless Chromium over the DevTools protocol; the HTML after scripts ran.
    Browser,
}

impl DriverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriverKind::Http => "HTTP",
            DriverKind::Browser => "BROWSER",
        }
    }
}

/// Where a value sits: a CSS selector relative to the item (empty: the item itself) and the
/// attribute to read (absent: the element's text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub selector: String,
    pub attr: Option<String>,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Attr {
                selector: String,
                attr: Option<String>,
            },
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Text(selector) => Field {
                selector,
                attr: None,
            },
            Raw::Attr { selector, attr } => Field { selector, attr },
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// The page with the sign-in form.
    pub page: String,
    /// Where the form posts.
    pub action: String,
    /// The form's selector (its absence on a page means the session holds).
    pub form: String,
    pub username_field: String,
    pub password_field: String,
    /// A hidden anti-forgery field the form carries, sent back with the credentials.
    #[serde(default)]
    pub csrf_field: Option<String>,
    /// The cookie that proves a session.
    pub session_cookie: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFields {
    pub external_id: Field,
    pub name: Field,
    pub price: Field,
    pub unit: Field,
    #[serde(default)]
    pub pack: Option<Field>,
    #[serde(default)]
    pub stock: Option<Field>,
    #[serde(default)]
    pub gtin: Option<Field>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// A page of the catalog; `{page}` is its number, from 1.
    pub path: String,
    pub max_pages: u32,
    /// One item of the catalog.
    pub item: String,
    /// The browser waits for this before reading (script-rendered pages).
    #[serde(default)]
    pub ready: Option<String>,
    /// A link to the next page; absent, pages are read until one has no items.
    #[serde(default)]
    pub next: Option<String>,
    pub fields: CatalogFields,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartConfig {
    /// Where cart lines are posted (JSON `{"lines": [{"articleNumber", "quantity"}]}`).
    pub path: String,
    /// The field of the answer naming the cart.
    pub cart_id_field: String,
    /// The page the restaurant opens to review and submit the cart; `{cart_id}` is filled in.
    pub deep_link: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceConfig {
    pub path: String,
    pub item: String,
    pub id: Field,
    pub href: Field,
}

/// One wholesaler's connector.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    pub key: String,
    pub name: String,
    pub base_url: String,
    /// False when the portal's robots rules or terms forbid the mirror: nothing is fetched.
    pub allowed: bool,
    /// What the terms allow and how the connector keeps to them.
    pub terms: String,
    pub driver: DriverKind,
    pub currency: String,
    pub rate_limit_per_second: f64,
    pub jitter_ms: [u64; 2],
    pub session_ttl_minutes: u32,
    pub user_agents: Vec<String>,
    /// Hosts besides the portal's own a browser-driven page may load from (its CDN); every
    /// other request of the page is blocked.
    #[serde(default)]
    pub browser_allowed_hosts: Vec<String>,
    pub login: LoginConfig,
    pub catalog: CatalogConfig,
    pub cart: CartConfig,
    pub invoices: InvoiceConfig,
}

impl ConnectorConfig {
    /// An absolute URL on the portal for a path (`/x`), or the URL itself when absolute.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!(
                "{}/{}",
                self.base_url.trim_end_matches('/'),
                path.trim_start_matches('/')
            )
        }
    }

    fn check(&self) -> Result<(), String> {
        let key_ok = !self.key.is_empty()
            && self.key.len() <= 64
            && self
                .key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err("key: 1–64 of a–z, 0–9 and `_`".into());
        }
        let base = reqwest::Url::parse(&self.base_url)
            .map_err(|e| format!("base_url: not a URL ({e})"))?;
        let loopback = matches!(base.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if !(base.scheme() == "https" || (base.scheme() == "http" && loopback)) {
            return Err(
                "base_url: must be https (credentials and sessions travel over it; plain http only on loopback)"
                    .into(),
            );
        }
        for (name, path) in [
            ("login.page", &self.login.page),
            ("login.action", &self.login.action),
            ("catalog.path", &self.catalog.path),
            ("cart.path", &self.cart.path),
            ("cart.deep_link", &self.cart.deep_link),
            ("invoices.path", &self.invoices.path),
        ] {
            if !path.starts_with('/') || path.starts_with("//") {
                return Err(format!(
                    "{name}: must be a path on the portal (starting with one `/`)"
                ));
            }
        }
        if !(self.rate_limit_per_second > 0.0 && self.rate_limit_per_second <= 100.0) {
            return Err("rate_limit_per_second: must be above 0 and at most 100".into());
        }
        if self.jitter_ms[0] > self.jitter_ms[1] || self.jitter_ms[1] > 10_000 {
            return Err("jitter_ms: [low, high] with low ≤ high ≤ 10000".into());
        }
        if self.session_ttl_minutes == 0 || self.session_ttl_minutes > MAX_SESSION_TTL_MINUTES {
            return Err(format!(
                "session_ttl_minutes: 1–{MAX_SESSION_TTL_MINUTES} (sessions live at most 24 hours)"
            ));
        }
        if self.user_agents.is_empty() {
            return Err("user_agents: at least one".into());
        }
        crate::domain::kernel::money::Currency::parse(&self.currency)
            .map_err(|e| format!("currency: {e}"))?;
        if !self.catalog.path.contains("{page}") {
            return Err("catalog.path: must hold `{page}`".into());
        }
        if !self.cart.deep_link.contains("{cart_id}") {
            return Err("cart.deep_link: must hold `{cart_id}`".into());
        }
        if self.catalog.max_pages == 0 {
            return Err("catalog.max_pages: at least 1".into());
        }
        for (name, selector) in self.selectors() {
            if !selector.is_empty() {
                scraper::Selector::parse(&selector)
                    .map_err(|e| format!("{name}: `{selector}` is not a CSS selector ({e})"))?;
            }
        }
        Ok(())
    }

    /// Every selector, named by where it sits in the configuration.
    pub fn selectors(&self) -> Vec<(String, String)> {
        let c = &self.catalog;
        let mut all = vec![
            ("login.form".to_owned(), self.login.form.clone()),
            ("catalog.item".to_owned(), c.item.clone()),
            ("invoices.item".to_owned(), self.invoices.item.clone()),
            ("invoices.id".to_owned(), self.invoices.id.selector.clone()),
            (
                "invoices.href".to_owned(),
                self.invoices.href.selector.clone(),
            ),
        ];
        if let Some(ready) = &c.ready {
            all.push(("catalog.ready".into(), ready.clone()));
        }
        if let Some(next) = &c.next {
            all.push(("catalog.next".into(), next.clone()));
        }
        for (name, field) in self.catalog_fields() {
            all.push((format!("catalog.fields.{name}"), field.selector.clone()));
        }
        all
    }

    /// The catalog's fields by name; `required` ones must be on every item.
    pub fn catalog_fields(&self) -> Vec<(&'static str, &Field)> {
        let f = &self.catalog.fields;
        let mut all = vec![
            ("external_id", &f.external_id),
            ("name", &f.name),
            ("price", &f.price),
            ("unit", &f.unit),
        ];
        for (name, field) in [("pack", &f.pack), ("stock", &f.stock), ("gtin", &f.gtin)] {
            if let Some(field) = field {
                all.push((name, field));
            }
        }
        all
    }
}

/// Merges `patch` into `base` (RFC 7386: objects merge, null removes, anything else replaces).
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
            for (k, v) in patch {
                if v.is_null() {
                    base.remove(&k);
                } else {
                    merge(base.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

/// The shipped configurations with the directory's files merged over them, by key.
pub fn load(dir: Option<&Path>) -> Result<BTreeMap<String, ConnectorConfig>, String> {
    let mut raw: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for (key, text) in BUILT_IN {
        let value =
            serde_json::from_str(text).map_err(|e| format!("built-in connector {key}: {e}"))?;
        raw.insert((*key).to_owned(), value);
    }
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("CONNECTOR_CONFIG_DIR {}: {e}", dir.display()))?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for path in files {
            let key = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let patch: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            merge(raw.entry(key).or_insert(serde_json::json!({})), patch);
        }
    }
    let mut configs = BTreeMap::new();
    for (key, value) in raw {
        let config: ConnectorConfig =
            serde_json::from_value(value).map_err(|e| format!("connector {key}: {e}"))?;
        if config.key != key {
            return Err(format!(
                "connector {key}: its key says `{}`; a file is named by its key",
                config.key
            ));
        }
        config
            .check()
            .map_err(|e| format!("connector {key}: {e}"))?;
        configs.insert(key, config);
    }
    Ok(configs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configurations_load() {
        let all = load(None).unwrap();
        assert_eq!(
            all.keys().map(String::as_str).collect::<Vec<_>>(),
            ["martin_servera", "menigo"]
        );
        assert_eq!(all["menigo"].driver, DriverKind::Browser);
        assert_eq!(all["martin_servera"].driver, DriverKind::Http);
        assert_eq!(
            all["martin_servera"].url("/login"),
            "https://www.martinservera.se/login"
        );
    }

    #[test]
    fn a_directory_patches_and_adds_connectors() {
        let dir = std::env::temp_dir().join(format!("iris-connectors-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("martin_servera.json"),
            r#"{"base_url": "http://127.0.0.1:9", "catalog": {"item": "div.tile"}}"#,
        )
        .unwrap();
        let all = load(Some(&dir)).unwrap();
        assert_eq!(all["martin_servera"].base_url, "http://127.0.0.1:9");
        assert_eq!(all["martin_servera"].catalog.item, "div.tile");
        assert_eq!(all["martin_servera"].catalog.path, "/sortiment?page={page}");

        std::fs::write(
            dir.join("martin_servera.json"),
            r#"{"session_ttl_minutes": 2000}"#,
        )
        .unwrap();
        assert!(
            load(Some(&dir))
                .unwrap_err()
                .contains("session_ttl_minutes")
        );
        std::fs::write(
            dir.join("martin_servera.json"),
            r#"{"catalog": {"item": "div[["}}"#,
        )
        .unwrap();
        assert!(load(Some(&dir)).unwrap_err().contains("catalog.item"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
