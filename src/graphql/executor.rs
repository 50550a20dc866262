//! How a GraphQL document runs: checked first, then executed by a schema without extensions.
//!
//! async-graphql routes every resolved field through the schema's extensions as soon as there
//! is one — a registry lookup, a boxed future and, for list items, three formatted type names
//! per field — even when the extension only cares about the document. So the limits
//! ([`super::limits`]) live on a *checking* schema that parses, applies the limits and
//! validates, and never executes (its `execute` hook returns before any resolver runs); the
//! document it checked then runs on the *running* schema, which has no extension and only
//! recomputes what it needs from the checked document (fast validation). Both are built from
//! the same types and switches. What the extension did around execution — the request's time
//! budget, the bound on errors, their codes, the cost report — happens here, once per request
//! or per subscription event.

use std::sync::{Arc, Mutex};

use async_graphql::{
    Data, Name, Request, Response, ServerError, Value,
    futures_util::stream::{self, BoxStream, StreamExt},
    parser::types::ExecutableDocument,
};

use super::{
    AppSchema, RequestContext,
    errors::{self, set_code},
    limits::{Limits, bound_errors},
};

/// What the checking schema hands over: the document as checked (absent variables taken out)
/// and its cost.
#[derive(Default)]
pub(super) struct Checked {
    pub document: Option<ExecutableDocument>,
    pub cost: Option<usize>,
}

/// Where the checking schema's extension leaves [`Checked`] (request data of the check).
#[derive(Clone, Default)]
pub(super) struct CheckSlot(pub Arc<Mutex<Checked>>);

/// Runs requests and subscriptions: the checking schema, then the running one.
#[derive(Clone)]
pub struct GraphqlExecutor {
    checker: AppSchema,
    runner: AppSchema,
    limits: Arc<Limits>,
}

impl GraphqlExecutor {
    pub(super) fn new(checker: AppSchema, runner: AppSchema, limits: Arc<Limits>) -> Self {
        Self {
            checker,
            runner,
            limits,
        }
    }

    /// Parses (unless already parsed), applies the limits and validates; on success the
    /// request carries the checked document and the cost is returned, otherwise the response
    /// with the errors.
    async fn check(&self, request: &mut Request) -> Result<usize, Response> {
        let slot = CheckSlot::default();
        // Parsed once: the check works on a copy, and a document that does not parse is left
        // to the check, which reports it.
        let parsed = request.parsed_query().ok().cloned();
        let mut probe = Request::new(std::mem::take(&mut request.query))
            .variables(request.variables.clone())
            .data(slot.clone());
        probe.operation_name = request.operation_name.clone();
        probe.introspection_mode = request.introspection_mode;
        if let Some(doc) = parsed {
            probe.set_parsed_query(doc);
        }
        let answer = self.checker.execute(probe).await;
        if !answer.errors.is_empty() {
            return Err(answer);
        }
        let checked = std::mem::take(&mut *slot.0.lock().unwrap_or_else(|p| p.into_inner()));
        match checked.document {
            Some(doc) => {
                request.set_parsed_query(doc);
                Ok(checked.cost.unwrap_or_default())
            }
            // The checking schema's parse hook always leaves the document; a broken
            // invariant is the server's fault, never the caller's.
            None => {
                tracing::error!("a document passed the checks without leaving itself behind");
                let mut error = ServerError::new("Internal server error", None);
                set_code(&mut error, "INTERNAL", 500);
                Err(Response::from_errors(vec![error]))
            }
        }
    }

    /// Checks and runs one query or mutation within the request's time budget.
    pub async fn execute(&self, mut request: Request) -> Response {
        let cost = match self.check(&mut request).await {
            Ok(cost) => cost,
            Err(refused) => return refused,
        };
        let budget = self.limits.time_budget;
        let mut response = match tokio::time::timeout(budget, self.runner.execute(request)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!("request cancelled at its time budget");
                // Dropping the execution stops its statements; a mutation's open transaction
                // rolls back.
                let mut error = ServerError::new(
                    format!(
                        "The request did not finish within its time budget ({} ms; REQUEST_TIMEOUT_SECS) and was cancelled",
                        budget.as_millis()
                    ),
                    None,
                );
                set_code(&mut error, "TIMEOUT", 504);
                Response::from_errors(vec![error])
            }
        };
        bound_errors(&mut response.errors, self.limits.max_errors);
        errors::finish(&mut response.errors, None);
        let mut report = async_graphql::indexmap::IndexMap::new();
        report.insert(Name::new("requested"), Value::from(cost as u64));
        report.insert(
            Name::new("maximum"),
            Value::from(self.limits.max_cost as u64),
        );
        response
            .extensions
            .insert("cost".to_owned(), Value::Object(report));
        response
    }
}

impl async_graphql::Executor for GraphqlExecutor {
    fn execute(&self, request: Request) -> impl Future<Output = Response> + Send {
        GraphqlExecutor::execute(self, request)
    }

    /// A subscription (over the websocket): checked, then every event coded and stamped.
    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
        let session_data = session_data.unwrap_or_default();
        let request_id = session_data
            .get(&std::any::TypeId::of::<RequestContext>())
            .and_then(|d| d.downcast_ref::<RequestContext>())
            .map(|c| c.request_id.as_str().to_owned());
        stream::once(async move {
            let mut request = request;
            match this.check(&mut request).await {
                Ok(_) => this
                    .runner
                    .execute_stream_with_session_data(request, session_data),
                Err(refused) => stream::once(async move { refused }).boxed(),
            }
        })
        .flatten()
        .map(move |mut response| {
            errors::finish(&mut response.errors, request_id.as_deref());
            response
        })
        .boxed()
    }
}
