//! A fake wholesaler portal, served locally: both connector shapes the shipped configurations
//! read — Martin & Servera's (server-rendered catalog, sign-in form with an anti-forgery
//! field) and Menigo's (a catalog rendered by script, for the browser driver) — with session
//! cookies, a cart endpoint and invoice downloads. What it issued and received is inspectable.
//! The connector benchmark includes this file too.

#![allow(dead_code)] // The benchmark uses a part of it.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Form, Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

pub const USERNAME: &str = "kok@bistro.se";
pub const PASSWORD: &str = "Lösen-ord 2026!";
const CSRF: &str = "csrf-7f3a";

/// One article of the portal's catalog, as the portal writes it.
#[derive(Clone, Debug)]
pub struct Article {
    pub id: String,
    pub name: String,
    pub price: String,
    pub unit: String,
    pub pack: Option<String>,
    pub stock: Option<String>,
    pub gtin: Option<String>,
}

#[derive(Default)]
pub struct PortalState {
    pub articles: Vec<Article>,
    pub per_page: usize,
    /// The class the price element carries (renamed to break the configured selector).
    pub price_class: String,
    pub sessions: HashSet<String>,
    pub issued: Vec<String>,
    pub carts: Vec<Value>,
    pub invoices: Vec<(String, Vec<u8>)>,
    pub user_agents: HashSet<String>,
    pub requests: usize,
    pub logins_refused: usize,
}

#[derive(Clone)]
pub struct FakePortal {
    pub url: String,
    pub state: Arc<Mutex<PortalState>>,
}

/// A catalog of `n` articles: two carry the SKUs of the test market's supplier B (`B-1`,
/// `B-3`), the rest are generated in every spelling the normalizer reads.
pub fn articles(n: usize) -> Vec<Article> {
    let mut all = vec![
        Article {
            id: "B-1".into(),
            name: "Surdegsbröd".into(),
            price: "1 234,50 kr".into(),
            unit: "st".into(),
            pack: Some("6x1 l".into()),
            stock: Some("I lager".into()),
            gtin: Some("7310865004703".into()),
        },
        Article {
            id: "B-3".into(),
            name: "Knäckebröd".into(),
            price: "89,90 SEK/krt".into(),
            unit: "krt".into(),
            pack: Some("4 x 2,5 kg".into()),
            stock: Some("12 st".into()),
            gtin: Some("7310865004704".into()),
        },
    ];
    let units = ["st", "kg", "krt", "fp", "l", "fl"];
    for i in 2..n {
        all.push(Article {
            id: format!("{}", 100_000 + i),
            name: format!("Artikel {i} – grönsaker"),
            price: format!("{},{:02} kr", 10 + i % 900, i % 100),
            unit: units[i % units.len()].into(),
            pack: (i % 3 == 0).then(|| format!("{} x 500 g", 1 + i % 12)),
            stock: Some(if i % 7 == 0 {
                "Slut".into()
            } else {
                format!("{} st", i % 50)
            }),
            gtin: None,
        });
    }
    all
}

impl FakePortal {
    pub async fn start(articles: Vec<Article>, per_page: usize) -> FakePortal {
        let state = Arc::new(Mutex::new(PortalState {
            articles,
            per_page,
            price_class: "product-tile__price".into(),
            ..Default::default()
        }));
        let app = Router::new()
            // Martin & Servera's shape.
            .route("/login", get(ms_login_page).post(ms_login))
            .route("/sortiment", get(ms_catalog))
            .route("/api/cart/lines", post(cart))
            .route("/mina-sidor/fakturor", get(ms_invoices))
            .route("/mina-sidor/fakturor/{number}", get(invoice))
            // Menigo's shape.
            .route("/logga-in", get(me_login_page).post(me_login))
            .route("/sortiment/alla", get(me_catalog))
            .route("/api/varukorg", post(cart))
            .route("/konto/fakturor", get(me_invoices))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakePortal {
            url: format!("http://{addr}"),
            state,
        }
    }

    /// The connector configurations pointing the shipped connectors at this portal, politely
    /// fast: a directory for `CONNECTOR_CONFIG_DIR`.
    pub fn config_dir(&self) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("iris-portal-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        for key in ["martin_servera", "menigo"] {
            std::fs::write(
                dir.join(format!("{key}.json")),
                json!({ "base_url": self.url, "rate_limit_per_second": 100.0, "jitter_ms": [0, 0] })
                    .to_string(),
            )
            .unwrap();
        }
        dir
    }

    /// Ends every session (the portal logs everyone out).
    pub fn end_sessions(&self) {
        self.state.lock().unwrap().sessions.clear();
    }

    pub fn rename_price_class(&self, class: &str) {
        self.state.lock().unwrap().price_class = class.into();
    }

    pub fn add_invoice(&self, number: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .invoices
            .push((number.into(), bytes));
    }

    /// The session cookie values the portal issued.
    pub fn issued(&self) -> Vec<String> {
        self.state.lock().unwrap().issued.clone()
    }

    pub fn carts(&self) -> Vec<Value> {
        self.state.lock().unwrap().carts.clone()
    }
}

type Shared = State<Arc<Mutex<PortalState>>>;

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// Whether the request carries a live session cookie (and notes its user agent).
fn signed_in(state: &Mutex<PortalState>, headers: &HeaderMap, name: &str) -> bool {
    let mut s = state.lock().unwrap();
    s.requests += 1;
    if let Some(ua) = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        s.user_agents.insert(ua.to_owned());
    }
    cookie(headers, name).is_some_and(|c| s.sessions.contains(&c))
}

fn issue(state: &Mutex<PortalState>, name: &str) -> Response {
    let value = format!("sess-{}", uuid::Uuid::new_v4().simple());
    let mut s = state.lock().unwrap();
    s.sessions.insert(value.clone());
    s.issued.push(value.clone());
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{name}={value}; Path=/; HttpOnly"),
            ),
            (header::LOCATION, "/".to_owned()),
        ],
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

async fn ms_login_page(State(state): Shared) -> Response {
    state.lock().unwrap().requests += 1;
    (
        [(header::SET_COOKIE, "ms_csrf=1; Path=/")],
        Html(format!(
            r#"<html><body><form id="login-form" method="post" action="/login">
            <input type="hidden" name="_csrf" value="{CSRF}">
            <input name="username"><input name="password" type="password">
            <button>Logga in</button></form></body></html>"#
        )),
    )
        .into_response()
}

#[derive(Deserialize)]
struct MsLogin {
    username: String,
    password: String,
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

async fn ms_login(State(state): Shared, Form(form): Form<MsLogin>) -> Response {
    state.lock().unwrap().requests += 1;
    if form.username == USERNAME && form.password == PASSWORD && form.csrf.as_deref() == Some(CSRF)
    {
        return issue(&state, "MS_SESSION");
    }
    state.lock().unwrap().logins_refused += 1;
    (
        StatusCode::UNAUTHORIZED,
        Html("<form id=\"login-form\">Fel lösenord</form>"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
    sida: Option<usize>,
}

fn page_of(state: &PortalState, number: usize) -> (Vec<Article>, bool) {
    let start = (number.max(1) - 1) * state.per_page;
    let items: Vec<Article> = state
        .articles
        .iter()
        .skip(start)
        .take(state.per_page)
        .cloned()
        .collect();
    (items, start + state.per_page < state.articles.len())
}

async fn ms_catalog(
    State(state): Shared,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    if !signed_in(&state, &headers, "MS_SESSION") {
        return Redirect::to("/login").into_response();
    }
    let s = state.lock().unwrap();
    let (items, more) = page_of(&s, q.page.unwrap_or(1));
    let mut html = String::from("<html><body><main class=\"catalog\">");
    for a in items {
        let gtin = a
            .gtin
            .map(|g| format!(" data-gtin=\"{g}\""))
            .unwrap_or_default();
        html.push_str(&format!(
            r#"<article class="product-tile" data-article-number="{}"{gtin}><h3 class="product-tile__name">{}</h3><span class="{}">{}</span><span class="product-tile__unit">{}</span>{}{}</article>"#,
            escape(&a.id),
            escape(&a.name),
            s.price_class,
            escape(&a.price),
            escape(&a.unit),
            a.pack.map(|p| format!("<span class=\"product-tile__pack\">{}</span>", escape(&p))).unwrap_or_default(),
            a.stock.map(|p| format!("<span class=\"product-tile__stock\">{}</span>", escape(&p))).unwrap_or_default(),
        ));
    }
    if more {
        html.push_str(&format!(
            "<a rel=\"next\" href=\"/sortiment?page={}\">Nästa</a>",
            q.page.unwrap_or(1) + 1
        ));
    }
    html.push_str("</main></body></html>");
    Html(html).into_response()
}

async fn cart(State(state): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let ok =
        signed_in(&state, &headers, "MS_SESSION") || signed_in(&state, &headers, "menigo_auth");
    if !ok {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut s = state.lock().unwrap();
    s.carts.push(body);
    let id = format!("C{}", s.carts.len());
    Json(json!({ "cartId": id, "id": id })).into_response()
}

async fn ms_invoices(State(state): Shared, headers: HeaderMap) -> Response {
    if !signed_in(&state, &headers, "MS_SESSION") {
        return Redirect::to("/login").into_response();
    }
    let s = state.lock().unwrap();
    let rows: String = s
        .invoices
        .iter()
        .map(|(n, _)| {
            format!(
                r#"<tr class="invoice-row" data-invoice-number="{n}"><td>{n}</td><td><a class="invoice-download" href="/mina-sidor/fakturor/{n}">Ladda ner</a></td></tr>"#
            )
        })
        .collect();
    Html(format!("<html><body><table>{rows}</table></body></html>")).into_response()
}

async fn invoice(State(state): Shared, headers: HeaderMap, Path(number): Path<String>) -> Response {
    let ok =
        signed_in(&state, &headers, "MS_SESSION") || signed_in(&state, &headers, "menigo_auth");
    if !ok {
        return Redirect::to("/login").into_response();
    }
    let s = state.lock().unwrap();
    match s.invoices.iter().find(|(n, _)| *n == number) {
        Some((_, bytes)) => {
            ([(header::CONTENT_TYPE, "application/xml")], bytes.clone()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn me_login_page(State(state): Shared) -> Html<&'static str> {
    state.lock().unwrap().requests += 1;
    Html(
        r#"<html><body><form class="login" method="post" action="/logga-in">
        <input name="email"><input name="password" type="password"><button>Logga in</button>
        </form></body></html>"#,
    )
}

#[derive(Deserialize)]
struct MeLogin {
    email: String,
    password: String,
}

async fn me_login(State(state): Shared, Form(form): Form<MeLogin>) -> Response {
    state.lock().unwrap().requests += 1;
    if form.email == USERNAME && form.password == PASSWORD {
        return issue(&state, "menigo_auth");
    }
    state.lock().unwrap().logins_refused += 1;
    (
        StatusCode::UNAUTHORIZED,
        Html("<form class=\"login\">Fel</form>"),
    )
        .into_response()
}

/// The catalog as a script renders it: the HTML holds only data; the articles appear once the
/// script ran, and `#catalog[data-loaded]` says so.
async fn me_catalog(
    State(state): Shared,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    if !signed_in(&state, &headers, "menigo_auth") {
        return Redirect::to("/logga-in").into_response();
    }
    let s = state.lock().unwrap();
    let number = q.sida.unwrap_or(1);
    let (items, more) = page_of(&s, number);
    let data: Vec<Value> = items
        .iter()
        .map(|a| json!({ "id": a.id, "name": a.name, "price": a.price, "unit": a.unit, "pack": a.pack, "stock": a.stock, "ean": a.gtin }))
        .collect();
    let data = serde_json::to_string(&data).unwrap().replace("</", "<\\/");
    let next = if more {
        format!(
            "<a class=\"next-page\" href=\"/sortiment/alla?sida={}\">Nästa</a>",
            number + 1
        )
    } else {
        String::new()
    };
    Html(format!(
        r#"<html><body><ul id="catalog"></ul>{next}<script>
        const articles = {data};
        setTimeout(() => {{
          const list = document.getElementById('catalog');
          for (const a of articles) {{
            const li = document.createElement('li');
            li.className = 'article';
            li.dataset.id = a.id;
            if (a.ean) li.dataset.ean = a.ean;
            for (const [cls, value] of [['article-name', a.name], ['article-price', a.price], ['article-unit', a.unit], ['article-pack', a.pack], ['article-stock', a.stock]]) {{
              if (value == null) continue;
              const span = document.createElement('span');
              span.className = cls;
              span.textContent = value;
              li.appendChild(span);
            }}
            list.appendChild(li);
          }}
          list.setAttribute('data-loaded', '1');
        }}, 20);
        </script></body></html>"#
    ))
    .into_response()
}

async fn me_invoices(State(state): Shared, headers: HeaderMap) -> Response {
    if !signed_in(&state, &headers, "menigo_auth") {
        return Redirect::to("/logga-in").into_response();
    }
    let s = state.lock().unwrap();
    let rows: String = s
        .invoices
        .iter()
        .map(|(n, _)| format!(r#"<li class="invoice" data-number="{n}"><a href="/mina-sidor/fakturor/{n}">{n}</a></li>"#))
        .collect();
    Html(format!("<html><body><ul>{rows}</ul></body></html>")).into_response()
}
