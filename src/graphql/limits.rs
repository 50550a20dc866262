//! The limits every GraphQL document passes before it runs, and the bound on what it answers:
//! the checking schema's one extension ([`super::executor`] runs the checked document on a
//! schema without extensions, so no resolved field pays for a hook).
//!
//! Checked in this order, each with one error naming the limit (`extensions.limit`, the
//! setting that sets it) and what the document asked for (`extensions.actual`, plus
//! `extensions.cost` for the cost):
//!
//! 1. after parsing — aliases in the document (`GRAPHQL_MAX_ALIASES`), root fields of an
//!    operation (`GRAPHQL_MAX_ROOT_FIELDS`), directives on one field or fragment
//!    (`GRAPHQL_MAX_DIRECTIVES`), and the edge text rule on every string argument and variable
//!    (a `VALIDATION` error naming the field);
//! 2. after validation — depth (`GRAPHQL_MAX_DEPTH`) and cost (`GRAPHQL_MAX_COST`, the
//!    complexity with list multipliers of [`super::cost`]).
//!
//! Nothing executes before all of them hold, so a rejected document costs a parse and a walk.
//! Every answered response carries its cost (`extensions.cost`), so front ends can see how
//! close a query is to the maximum. Responses hold at most `GRAPHQL_MAX_ERRORS` errors, then
//! one that counts the rest.

use std::{sync::Arc, time::Duration};

use async_graphql::{
    Name, Pos, Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
        NextValidation,
    },
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use super::{
    errors::{self, VALIDATION_FAILED, set_code},
    executor::{CheckSlot, Checked},
};
use crate::{
    config::GraphqlConfig,
    domain::kernel::validation::{TextTree, dirty_text},
    error::AppError,
};

/// The limits, from configuration.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_cost: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    pub max_directives: usize,
    pub max_errors: usize,
    pub time_budget: Duration,
}

impl From<&GraphqlConfig> for Limits {
    fn from(config: &GraphqlConfig) -> Self {
        Self {
            max_depth: config.max_depth,
            max_cost: config.max_cost,
            max_aliases: config.max_aliases,
            max_root_fields: config.max_root_fields,
            max_directives: config.max_directives,
            max_errors: config.max_errors,
            time_budget: config.time_budget,
        }
    }
}

/// The error of a document over one limit.
fn over_limit(
    setting: &str,
    what: &str,
    actual: usize,
    maximum: usize,
    pos: Option<Pos>,
) -> ServerError {
    let mut error = ServerError::new(
        format!("The document exceeds {setting}: {what} {actual}, the maximum is {maximum}."),
        pos,
    );
    set_code(&mut error, VALIDATION_FAILED, 400);
    let ext = error.extensions.get_or_insert_with(Default::default);
    ext.set("limit", setting);
    ext.set("actual", actual as u64);
    ext.set("maximum", maximum as u64);
    error
}

/// What one walk of the document counted.
#[derive(Default)]
struct Census {
    aliases: usize,
    /// The largest number of directives on one selection, and where.
    directives: (usize, Option<Pos>),
}

fn walk(set: &SelectionSet, census: &mut Census) {
    for item in &set.items {
        let (directives, pos) = match &item.node {
            Selection::Field(field) => {
                if field.node.alias.is_some() {
                    census.aliases += 1;
                }
                walk(&field.node.selection_set.node, census);
                (field.node.directives.len(), field.pos)
            }
            Selection::FragmentSpread(spread) => (spread.node.directives.len(), spread.pos),
            Selection::InlineFragment(fragment) => {
                walk(&fragment.node.selection_set.node, census);
                (fragment.node.directives.len(), fragment.pos)
            }
        };
        if directives > census.directives.0 {
            census.directives = (directives, Some(pos));
        }
    }
}

/// Root fields of a selection set, counting through fragments (whose cycles validation
/// refuses later; `depth` stops a cycle here).
fn root_fields(set: &SelectionSet, doc: &ExecutableDocument, depth: usize) -> usize {
    if depth > 16 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(fragment) => {
                root_fields(&fragment.node.selection_set.node, doc, depth + 1)
            }
            Selection::FragmentSpread(spread) => doc
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |f| {
                    root_fields(&f.node.selection_set.node, doc, depth + 1)
                }),
        })
        .sum()
}

/// The shape limits of a parsed document.
pub fn check_document(doc: &ExecutableDocument, limits: &Limits) -> ServerResult<()> {
    let mut census = Census::default();
    for (_, operation) in doc.operations.iter() {
        walk(&operation.node.selection_set.node, &mut census);
        let roots = root_fields(&operation.node.selection_set.node, doc, 0);
        if roots > limits.max_root_fields {
            return Err(over_limit(
                "GRAPHQL_MAX_ROOT_FIELDS",
                "an operation selects root fields:",
                roots,
                limits.max_root_fields,
                Some(operation.pos),
            ));
        }
        let directives = operation.node.directives.len();
        if directives > census.directives.0 {
            census.directives = (directives, Some(operation.pos));
        }
    }
    for fragment in doc.fragments.values() {
        walk(&fragment.node.selection_set.node, &mut census);
        let directives = fragment.node.directives.len();
        if directives > census.directives.0 {
            census.directives = (directives, Some(fragment.pos));
        }
    }
    if census.aliases > limits.max_aliases {
        return Err(over_limit(
            "GRAPHQL_MAX_ALIASES",
            "aliases",
            census.aliases,
            limits.max_aliases,
            None,
        ));
    }
    if census.directives.0 > limits.max_directives {
        return Err(over_limit(
            "GRAPHQL_MAX_DIRECTIVES",
            "directives on one selection",
            census.directives.0,
            limits.max_directives,
            census.directives.1,
        ));
    }
    Ok(())
}

/// The two GraphQL value types (document values may hold variables; variables hold
/// constants) as the edge text rule walks them.
impl<'v> From<&'v async_graphql::Value> for TextTree<'v> {
    fn from(value: &'v async_graphql::Value) -> Self {
        match value {
            Value::String(s) => TextTree::Str(s),
            Value::Enum(_) => TextTree::Other,
            Value::List(items) => TextTree::List(items.iter().map(Into::into).collect()),
            Value::Object(map) => {
                TextTree::Object(map.iter().map(|(k, v)| (k.as_str(), v.into())).collect())
            }
            _ => TextTree::Other,
        }
    }
}

impl<'v> From<&'v async_graphql_value::Value> for TextTree<'v> {
    fn from(value: &'v async_graphql_value::Value) -> Self {
        use async_graphql_value::Value as V;
        match value {
            V::String(s) => TextTree::Str(s),
            V::List(items) => TextTree::List(items.iter().map(Into::into).collect()),
            V::Object(map) => {
                TextTree::Object(map.iter().map(|(k, v)| (k.as_str(), v.into())).collect())
            }
            _ => TextTree::Other,
        }
    }
}

fn text_error(field: String, rule: String, pos: Option<Pos>) -> ServerError {
    async_graphql::Error::from(AppError::validation(field, rule))
        .into_server_error(pos.unwrap_or_default())
}

fn check_arguments(set: &SelectionSet) -> ServerResult<()> {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    let mut path = name.node.to_string();
                    if let Some((field_path, rule)) =
                        dirty_text(TextTree::from(&value.node), &mut path)
                    {
                        return Err(text_error(field_path, rule, Some(value.pos)));
                    }
                }
                check_arguments(&field.node.selection_set.node)?;
            }
            Selection::InlineFragment(fragment) => {
                check_arguments(&fragment.node.selection_set.node)?;
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    Ok(())
}

/// The edge text rule over every string argument of the document and every variable.
pub fn check_text(doc: &ExecutableDocument, variables: &Variables) -> ServerResult<()> {
    for (name, value) in variables.iter() {
        let mut path = name.to_string();
        if let Some((field, rule)) = dirty_text(TextTree::from(value), &mut path) {
            return Err(text_error(field, rule, None));
        }
    }
    for (_, operation) in doc.operations.iter() {
        check_arguments(&operation.node.selection_set.node)?;
    }
    for fragment in doc.fragments.values() {
        check_arguments(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

/// At most `max` errors, then one that says how many more there were.
pub fn bound_errors(errors: &mut Vec<ServerError>, max: usize) {
    if errors.len() <= max {
        return;
    }
    let dropped = errors.split_off(max);
    let status = dropped
        .iter()
        .filter_map(|e| errors::extension_u64(e, "status"))
        .max()
        .unwrap_or(200) as u16;
    let mut summary = ServerError::new(
        format!(
            "…and {} more errors (a response holds at most {max}; GRAPHQL_MAX_ERRORS).",
            dropped.len()
        ),
        None,
    );
    summary.path = dropped[0].path.clone();
    set_code(&mut summary, "ERRORS_TRUNCATED", status);
    summary
        .extensions
        .get_or_insert_with(Default::default)
        .set("omitted", dropped.len() as u64);
    errors.push(summary);
}

/// The extension applying [`Limits`] on the checking schema ([`super::executor`]): it parses,
/// checks and validates, leaves the checked document and its cost in the request's
/// [`CheckSlot`], and executes nothing.
pub struct DocumentLimits {
    limits: Arc<Limits>,
}

impl DocumentLimits {
    pub fn new(limits: Arc<Limits>) -> Self {
        Self { limits }
    }
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsExtension {
            limits: self.limits.clone(),
        })
    }
}

struct DocumentLimitsExtension {
    limits: Arc<Limits>,
}

fn slot<'a>(ctx: &ExtensionContext<'a>) -> Option<std::sync::MutexGuard<'a, Checked>> {
    ctx.data_opt::<CheckSlot>()
        .map(|slot| slot.0.lock().unwrap_or_else(|p| p.into_inner()))
}

#[async_graphql::async_trait::async_trait]
impl Extension for DocumentLimitsExtension {
    /// A refused document's errors: bounded, coded and stamped.
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        bound_errors(&mut response.errors, self.limits.max_errors);
        errors::finish(&mut response.errors, errors::request_id(ctx).as_deref());
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(errors::code_parse_error)?;
        check_document(&doc, &self.limits)?;
        check_text(&doc, variables)?;
        let mut doc = doc;
        omit_absent_variables(&mut doc, variables)?;
        if let Some(mut slot) = slot(ctx) {
            slot.document = Some(doc.clone());
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next
            .run(ctx)
            .await
            .map_err(errors::code_validation_errors)?;
        if result.depth > self.limits.max_depth {
            return Err(vec![over_limit(
                "GRAPHQL_MAX_DEPTH",
                "its selections nest",
                result.depth,
                self.limits.max_depth,
                None,
            )]);
        }
        if result.complexity > self.limits.max_cost {
            let mut error = over_limit(
                "GRAPHQL_MAX_COST",
                "it costs",
                result.complexity,
                self.limits.max_cost,
                None,
            );
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("cost", result.complexity as u64);
            return Err(vec![error]);
        }
        if let Some(mut slot) = slot(ctx) {
            slot.cost = Some(result.complexity);
        }
        Ok(result)
    }

    /// The checking schema runs no resolver: the checked document runs on the other schema.
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::default()
    }
}

/// GraphQL's rule for a variable the request leaves out (CoerceArgumentValues): an argument or
/// input-object field given as that variable is absent — its default applies — not null.
/// async-graphql would pass null, which turns an omitted optional variable into an error on a
/// defaulted argument; so such arguments and fields are taken out of the document before it
/// runs (a variable with a default of its own is left to that default). With several
/// operations in the document, each keeps only the definitions it still uses.
fn omit_absent_variables(doc: &mut ExecutableDocument, variables: &Variables) -> ServerResult<()> {
    use async_graphql::parser::types::DocumentOperations;
    use async_graphql_value::Value as DocValue;
    use std::collections::HashSet;

    let mut defaulted: HashSet<Name> = HashSet::new();
    for (_, operation) in doc.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if definition.node.default_value.is_some() {
                defaulted.insert(definition.node.name.node.clone());
            }
        }
    }
    // A non-null variable without a value or a default is the request's error
    // (CoerceVariableValues), before anything runs. (With several operations, which one runs
    // is not known here; async-graphql answers for that one.)
    let single = matches!(doc.operations, DocumentOperations::Single(_));
    for (_, operation) in doc.operations.iter().filter(|_| single) {
        for definition in &operation.node.variable_definitions {
            let d = &definition.node;
            if !d.var_type.node.nullable
                && d.default_value.is_none()
                && !variables.contains_key(&d.name.node)
            {
                let mut error = ServerError::new(
                    format!(
                        "Variable \"${}\" of required type \"{}\" was not provided.",
                        d.name.node, d.var_type.node
                    ),
                    Some(definition.pos),
                );
                set_code(&mut error, VALIDATION_FAILED, 400);
                return Err(error);
            }
        }
    }
    let absent: HashSet<Name> = doc
        .operations
        .iter()
        .flat_map(|(_, operation)| operation.node.variable_definitions.iter())
        .filter(|definition| definition.node.var_type.node.nullable)
        .map(|definition| definition.node.name.node.clone())
        .filter(|name| !variables.contains_key(name) && !defaulted.contains(name))
        .collect();
    if absent.is_empty() {
        return Ok(());
    }
    let is_absent =
        |value: &DocValue| matches!(value, DocValue::Variable(name) if absent.contains(name));
    fn prune_value(value: &mut DocValue, is_absent: &dyn Fn(&DocValue) -> bool) {
        match value {
            DocValue::Object(fields) => {
                fields.retain(|_, v| !is_absent(v));
                for v in fields.values_mut() {
                    prune_value(v, is_absent);
                }
            }
            DocValue::List(items) => {
                for v in items {
                    prune_value(v, is_absent);
                }
            }
            _ => {}
        }
    }
    fn prune_set(set: &mut SelectionSet, is_absent: &dyn Fn(&DocValue) -> bool) {
        for selection in &mut set.items {
            match &mut selection.node {
                Selection::Field(field) => {
                    field.node.arguments.retain(|(_, v)| !is_absent(&v.node));
                    for (_, v) in &mut field.node.arguments {
                        prune_value(&mut v.node, is_absent);
                    }
                    prune_set(&mut field.node.selection_set.node, is_absent);
                }
                Selection::InlineFragment(fragment) => {
                    prune_set(&mut fragment.node.selection_set.node, is_absent);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    match &mut doc.operations {
        DocumentOperations::Single(operation) => {
            prune_set(&mut operation.node.selection_set.node, &is_absent);
        }
        DocumentOperations::Multiple(operations) => {
            for operation in operations.values_mut() {
                prune_set(&mut operation.node.selection_set.node, &is_absent);
            }
        }
    }
    for fragment in doc.fragments.values_mut() {
        prune_set(&mut fragment.node.selection_set.node, &is_absent);
    }
    // A definition left without a use would now fail "every variable is used": drop it.
    fn uses(value: &DocValue, used: &mut HashSet<Name>) {
        match value {
            DocValue::Variable(name) => {
                used.insert(name.clone());
            }
            DocValue::Object(fields) => fields.values().for_each(|v| uses(v, used)),
            DocValue::List(items) => items.iter().for_each(|v| uses(v, used)),
            _ => {}
        }
    }
    fn directive_uses(
        directives: &[async_graphql::Positioned<async_graphql::parser::types::Directive>],
        used: &mut HashSet<Name>,
    ) {
        for directive in directives {
            for (_, v) in &directive.node.arguments {
                uses(&v.node, used);
            }
        }
    }
    type Fragments = std::collections::HashMap<
        Name,
        async_graphql::Positioned<async_graphql::parser::types::FragmentDefinition>,
    >;
    /// The variables a selection set uses, following fragment spreads (each fragment once).
    fn set_uses(
        set: &SelectionSet,
        fragments: &Fragments,
        visited: &mut HashSet<Name>,
        used: &mut HashSet<Name>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    for (_, v) in &field.node.arguments {
                        uses(&v.node, used);
                    }
                    directive_uses(&field.node.directives, used);
                    set_uses(&field.node.selection_set.node, fragments, visited, used);
                }
                Selection::InlineFragment(fragment) => {
                    directive_uses(&fragment.node.directives, used);
                    set_uses(&fragment.node.selection_set.node, fragments, visited, used);
                }
                Selection::FragmentSpread(spread) => {
                    directive_uses(&spread.node.directives, used);
                    let name = &spread.node.fragment_name.node;
                    if visited.insert(name.clone())
                        && let Some(fragment) = fragments.get(name)
                    {
                        directive_uses(&fragment.node.directives, used);
                        set_uses(&fragment.node.selection_set.node, fragments, visited, used);
                    }
                }
            }
        }
    }
    // Per operation: a definition of an absent variable it no longer uses goes.
    // The fragments are read while the operations change: two fields, two borrows.
    let fragments = &doc.fragments;
    let prune_definitions = |operation: &mut async_graphql::Positioned<
        async_graphql::parser::types::OperationDefinition,
    >| {
        let mut used = HashSet::new();
        directive_uses(&operation.node.directives, &mut used);
        set_uses(
            &operation.node.selection_set.node,
            fragments,
            &mut HashSet::new(),
            &mut used,
        );
        operation.node.variable_definitions.retain(|definition| {
            let name = &definition.node.name.node;
            !absent.contains(name) || used.contains(name)
        });
    };
    match &mut doc.operations {
        DocumentOperations::Single(operation) => prune_definitions(operation),
        DocumentOperations::Multiple(operations) => {
            operations.values_mut().for_each(prune_definitions);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_depth: 10,
            max_cost: 1000,
            max_aliases: 2,
            max_root_fields: 3,
            max_directives: 2,
            max_errors: 2,
            time_budget: Duration::from_secs(1),
        }
    }

    fn check(query: &str) -> Result<(), String> {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        check_document(&doc, &limits()).map_err(|e| e.message)
    }

    #[test]
    fn shape_limits_name_the_setting() {
        assert!(check("{ a b c }").is_ok());
        assert!(
            check("{ a b c d }")
                .unwrap_err()
                .contains("GRAPHQL_MAX_ROOT_FIELDS")
        );
        assert!(check("{ ...F } fragment F on Query { a b c d }").is_err());
        assert!(
            check("{ x: a y: b z: c }")
                .unwrap_err()
                .contains("GRAPHQL_MAX_ALIASES")
        );
        assert!(
            check("{ a @include(if: true) @include(if: true) @skip(if: false) }")
                .unwrap_err()
                .contains("GRAPHQL_MAX_DIRECTIVES")
        );
    }

    #[test]
    fn nul_in_arguments_and_variables_names_the_field() {
        let doc = async_graphql::parser::parse_query(
            "{ products(filter: { query: \"a\\u0000b\" }) { totalCount } }",
        )
        .unwrap();
        let error = check_text(&doc, &Variables::default()).unwrap_err();
        assert!(error.message.contains("filter.query"), "{}", error.message);
        let doc = async_graphql::parser::parse_query(
            "query($f: ProductFilter) { products(filter: $f) { totalCount } }",
        )
        .unwrap();
        let variables =
            Variables::from_json(serde_json::json!({ "f": { "category": ["ok", "x\u{0}"] } }));
        let error = check_text(&doc, &variables).unwrap_err();
        assert!(error.message.contains("f.category[1]"), "{}", error.message);
        let clean = Variables::from_json(serde_json::json!({ "f": { "query": "lax\nrökt\t" } }));
        assert!(check_text(&doc, &clean).is_ok());
    }

    #[test]
    fn errors_past_the_maximum_are_counted_in_one() {
        let mut errors: Vec<ServerError> = (0..5)
            .map(|i| ServerError::new(format!("e{i}"), None))
            .collect();
        bound_errors(&mut errors, 2);
        assert_eq!(errors.len(), 3);
        assert!(errors[2].message.contains("3 more"));
    }
}
