//! GraphiQL, served entirely from the binary: the page and its vendored assets (GraphiQL
//! 3.8.3 and React 18.3.1 UMD bundles, stored gzip-compressed in `assets/graphiql`), so it works
//! in an air-gapped deployment. Subscriptions run over `/graphql/ws` (graphql-transport-ws);
//! GraphiQL sends the header editor's headers as the `connection_init` payload.

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use crate::error::AppError;

const VERSION: &str = "3.8.3";

const ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js.gz"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css.gz"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js.gz"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js.gz"),
    ),
];

const DEFAULT_QUERY: &str = r#"# Welcome to Iris. Press the play button (or Ctrl-Enter) to run.
#
# Subscriptions work too: run
#   subscription Watch { supplierChanged { kind supplier { name } } }
# in one tab and `updateSupplier` in another.
{
  suppliers(first: 5) {
    totalCount
    edges {
      node { name city minimumOrderValue { amount currency } deliveryDays }
    }
  }
}
"#;

/// The GraphiQL page.
pub fn page() -> Response {
    let default_query = serde_json::to_string(DEFAULT_QUERY).unwrap_or_else(|_| "\"\"".into());
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Iris · GraphiQL</title>
  <link rel="icon" href="data:,">
  <style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
  <link rel="stylesheet" href="/graphiql/{VERSION}/graphiql.min.css">
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/{VERSION}/react.production.min.js"></script>
  <script src="/graphiql/{VERSION}/react-dom.production.min.js"></script>
  <script src="/graphiql/{VERSION}/graphiql.min.js"></script>
  <script>
    const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql/ws";
    // GraphiQL sends the header editor's headers (e.g. Authorization) as the websocket's
    // connection_init payload.
    const fetcher = GraphiQL.createFetcher({{ url: "/graphql", subscriptionUrl: wsUrl }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{
        fetcher,
        defaultQuery: {default_query},
        defaultEditorToolsVisibility: true,
      }}),
    );
  </script>
</body>
</html>
"#
    );
    Html(html).into_response()
}

/// `GET /graphiql/{version}/{file}`: a vendored asset, gzip-encoded, cached for a year (the
/// version is in the path).
pub async fn asset(Path((version, file)): Path<(String, String)>) -> Response {
    let found = ASSETS
        .iter()
        .find(|(name, _, _)| version == VERSION && *name == file);
    let Some((_, content_type, bytes)) = found else {
        return AppError::not_found("Asset", format!("{version}/{file}")).into_response();
    };
    let mut response = (StatusCode::OK, *bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
