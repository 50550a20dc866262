//! The pricing service: price lists and customer groups (suppliers' members and admins), the
//! price a restaurant sees, dynamic rules and their hourly refresh, price history, and the
//! supplier recommendation.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use entity::price_lists;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use super::{
    AssignmentTarget, Candidate, EntryInput, MAX_ASSIGNMENTS, MAX_ENTRIES, MAX_LISTS, NewPriceList,
    PREVIEW_LIMIT, PriceChange, PriceList, PriceListChanges, PriceRule, PriceRuleInput,
    ProposedChange, RefreshOutcome, ResolvedPrice, Tier, TierPrice, dynamic, recommend, repository,
};
use crate::{
    auth::{Caller, Principal},
    domain::{
        catalog,
        kernel::{
            money::{self, Currency},
            pagination::{KeyValue, Page, PageRequest, page_in_memory},
            validation::{self, Violations},
        },
        performance::PerformanceService,
        planning::PlanningService,
        platform::{
            audit::{self, AuditEntry},
            outbox,
        },
        restaurants, suppliers,
    },
    error::AppError,
    infra::db::{Db, begin_write},
};

/// Largest quantity a tier may start at or a price be asked for: an order line's maximum.
const MAX_TIER_QUANTITY: i64 = crate::domain::ordering::MAX_QUANTITY;
/// Products one refresh step reads, prices and writes together.
const REFRESH_BATCH: u64 = 2000;
/// Most products a recommendation or a comparison looks at.
const MAX_OFFERED: u64 = 2000;
/// Most kinds of thing in a typical basket.
const MAX_BASKET: usize = 200;
/// Most equivalents a comparison lists (cheapest first).
pub const MAX_COMPARISONS: usize = 50;
/// Restaurants that ordered a product this recently hear of its price changes.
const BUYER_WINDOW_DAYS: i64 = 90;

/// What pricing uses of other contexts.
#[derive(Clone)]
pub struct PricingDeps {
    pub planning: PlanningService,
    pub performance: PerformanceService,
    pub waker: outbox::OutboxWaker,
    pub weights: recommend::Weights,
}

#[derive(Clone)]
pub struct PricingService {
    db: Db,
    deps: PricingDeps,
}

/// A supplier's members and admins manage its prices.
fn authorize_supplier(caller: &Caller, supplier: Uuid) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated("sign in to manage prices".into())),
        p if p.is_admin() || p.supplier_role(supplier).is_some() => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the supplier's members and admins manage its prices".into(),
        )),
    }
}

/// Whether `principal` may see what `restaurant` pays for a product of `supplier`: the
/// restaurant's members, the supplier's members (their own prices) and admins. Nobody else:
/// a negotiated price is between the two parties.
pub fn may_view_prices(principal: &Principal, restaurant: Uuid, supplier: Uuid) -> bool {
    principal.is_admin()
        || principal.restaurant_role(restaurant).is_some()
        || principal.supplier_role(supplier).is_some()
}

fn check_window(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>, v: &mut Violations) {
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        v.check::<()>("validTo", Err("must be after validFrom".into()));
    }
}

fn check_priority(priority: i32, v: &mut Violations) {
    if !(-1000..=1000).contains(&priority) {
        v.check::<()>("priority", Err("must be between -1000 and 1000".into()));
    }
}

/// A quantity a price is asked for: 1 to an order line's maximum.
pub fn check_quantity(quantity: i64) -> Result<(), AppError> {
    if (1..=MAX_TIER_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(AppError::validation(
            "quantity",
            format!("must be between 1 and {MAX_TIER_QUANTITY}"),
        ))
    }
}

/// VALIDATION before anything is looked up when a list would hold too many tiers.
fn too_many_entries(entries: &[EntryInput]) -> Result<(), AppError> {
    if entries.len() > MAX_ENTRIES {
        return Err(AppError::validation(
            "entries",
            format!("must hold at most {MAX_ENTRIES} tiers"),
        ));
    }
    Ok(())
}

/// Validates entries against the supplier's live products: every problem, by entry index.
fn check_entries(
    entries: &[EntryInput],
    products: &HashMap<Uuid, catalog::Product>,
    supplier: Uuid,
    v: &mut Violations,
) -> Vec<(Uuid, Tier)> {
    if entries.len() > MAX_ENTRIES {
        v.check::<()>(
            "entries",
            Err(format!("must hold at most {MAX_ENTRIES} tiers")),
        );
        return Vec::new();
    }
    let mut seen = HashSet::new();
    let mut tiers = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let field = |name: &str| format!("entries[{i}].{name}");
        match products.get(&entry.product_id) {
            Some(p) if p.supplier_id == supplier => {}
            Some(_) => {
                v.check::<()>(
                    &field("productId"),
                    Err("is another supplier's product".into()),
                );
            }
            None => {
                v.check::<()>(
                    &field("productId"),
                    Err("is not a product on the marketplace".into()),
                );
            }
        }
        let min_quantity = entry.min_quantity.unwrap_or(1);
        if !(1..=MAX_TIER_QUANTITY).contains(&min_quantity) {
            v.check::<()>(
                &field("minQuantity"),
                Err(format!("must be between 1 and {MAX_TIER_QUANTITY}")),
            );
        }
        if !seen.insert((entry.product_id, min_quantity)) {
            v.check::<()>(
                &field("minQuantity"),
                Err("repeats a tier of the same product; give each break once".into()),
            );
        }
        let price = match (entry.price, entry.percent_off) {
            (Some(price), None) => v.check(
                &field("price"),
                money::to_milli(price)
                    .map_err(|e| e.rule())
                    .and_then(|milli| {
                        if milli >= 1 {
                            Ok(TierPrice::Fixed(money::from_milli(milli)))
                        } else {
                            Err("must be at least 0.001".into())
                        }
                    }),
            ),
            (None, Some(percent)) => v.check(
                &field("percentOff"),
                if percent <= Decimal::ZERO
                    || percent > Decimal::ONE_HUNDRED
                    || !(percent * Decimal::ONE_HUNDRED).fract().is_zero()
                {
                    Err(
                        "must be a percentage above 0 and at most 100, with at most two decimals"
                            .into(),
                    )
                } else {
                    Ok(TierPrice::PercentOff(percent.normalize()))
                },
            ),
            _ => v.check(
                &field("price"),
                Err::<TierPrice, _>("give either price or percentOff, not both or neither".into()),
            ),
        };
        if let Some(price) = price {
            tiers.push((
                entry.product_id,
                Tier {
                    min_quantity,
                    price,
                },
            ));
        }
    }
    tiers
}

/// A group name: the edge text rule, at most 100 characters.
fn group_name(raw: &str, field: &str) -> Result<String, AppError> {
    validation::text(raw, 100).map_err(|rule| AppError::validation(field, rule))
}

fn list_summary(list: &PriceList) -> serde_json::Value {
    json!({
        "name": list.name,
        "currency": list.currency.as_str(),
        "validFrom": list.valid_from,
        "validTo": list.valid_to,
        "priority": list.priority,
        "active": list.active,
        "entries": list.entries.iter().map(|e| e.tiers.len()).sum::<usize>(),
        "assignments": list.assignments.len(),
    })
}

/// A product a rule governs, and the rule.
struct Ruled<'a> {
    product: repository::RuledProduct,
    rule: &'a PriceRule,
}

/// The rule governing a product: its own rule, else its category's (the oldest).
fn rule_for<'a>(rules: &'a [PriceRule], p: &repository::RuledProduct) -> Option<&'a PriceRule> {
    rules
        .iter()
        .find(|r| r.supplier_id == p.supplier_id && r.product_id == Some(p.id))
        .or_else(|| {
            rules.iter().find(|r| {
                r.supplier_id == p.supplier_id
                    && r.product_id.is_none()
                    && r.category
                        .as_deref()
                        .is_some_and(|c| c.trim().to_lowercase() == p.category_folded)
            })
        })
}

/// A recommended supplier with its score's components.
#[derive(Clone, Debug)]
pub struct Recommendation {
    pub supplier_id: Uuid,
    pub score: f64,
    pub reliability: f64,
    pub price: f64,
    pub proximity: f64,
    pub distance_km: Option<f64>,
    /// What the restaurant's typical basket costs there, in its currency (None: nothing of it).
    pub basket_cost: Option<Decimal>,
    pub currency: String,
    /// Share of the basket's items the supplier has an equivalent of (0–1).
    pub coverage: f64,
    /// Products of the category (or matching the query) it sells.
    pub matching_products: u64,
}

/// An equivalent product at a supplier, priced for the restaurant.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub product: catalog::Product,
    pub price: ResolvedPrice,
    pub comparable_unit: recommend::ComparableUnit,
    /// The resolved unit price per comparable unit.
    pub comparable_price: Decimal,
    /// Name similarity to the product compared with (1 for itself).
    pub similarity: f64,
}

/// All recommendation weights, and the ranking.
#[derive(Clone, Debug)]
pub struct Recommendations {
    pub weights: recommend::Weights,
    /// Best first.
    pub suppliers: Vec<Recommendation>,
}

impl PricingService {
    pub fn new(db: Db, deps: PricingDeps) -> Self {
        Self { db, deps }
    }

    async fn products_by_id(
        &self,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, catalog::Product>, AppError> {
        Ok(catalog::find_many_live_products(&self.db, ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect())
    }

    async fn live_list(&self, id: Uuid) -> Result<price_lists::Model, AppError> {
        repository::find_list(&self.db, id)
            .await?
            .ok_or_else(|| AppError::not_found("Price list", id))
    }

    async fn complete_one(
        &self,
        db: &impl ConnectionTrait,
        model: price_lists::Model,
    ) -> Result<PriceList, AppError> {
        let id = model.id;
        repository::complete(db, vec![model])
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("price list {id} vanished").into())
    }

    /// A supplier's price lists, newest first (its members and admins).
    pub async fn lists(
        &self,
        caller: &Caller,
        supplier: Uuid,
        page: &PageRequest,
    ) -> Result<Page<PriceList>, AppError> {
        authorize_supplier(caller, supplier)?;
        let lists = repository::lists_of(&self.db, supplier).await?;
        let key = |l: &price_lists::Model| vec![KeyValue::Time(l.created_at), KeyValue::Id(l.id)];
        let cmp =
            |a: &[KeyValue], b: &[KeyValue]| b[0].compare(&a[0]).then_with(|| b[1].compare(&a[1]));
        let page = page_in_memory(lists, "price_lists.created.desc", page, key, cmp)?;
        let cursors = page.cursors;
        let items = repository::complete(&self.db, page.items).await?;
        Ok(Page {
            items,
            cursors,
            total: page.total,
            has_previous: page.has_previous,
            has_next: page.has_next,
        })
    }

    /// One price list (its supplier's members and admins).
    pub async fn list(&self, caller: &Caller, id: Uuid) -> Result<PriceList, AppError> {
        let model = self.live_list(id).await?;
        authorize_supplier(caller, model.supplier_id)
            .map_err(|_| AppError::not_found("Price list", id))?;
        self.complete_one(&self.db, model).await
    }

    /// One price list of `supplier` (NOT_FOUND when it is another's).
    pub async fn list_of(
        &self,
        caller: &Caller,
        supplier: Uuid,
        id: Uuid,
    ) -> Result<PriceList, AppError> {
        let list = self.list(caller, id).await?;
        if list.supplier_id != supplier {
            return Err(AppError::not_found("Price list", id));
        }
        Ok(list)
    }

    /// What `restaurant` pays for `quantity` units of a product at `at` (the restaurant's
    /// members, the supplier's members and admins).
    pub async fn price_of(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        product: Uuid,
        quantity: i64,
        at: DateTime<Utc>,
    ) -> Result<ResolvedPrice, AppError> {
        check_quantity(quantity)?;
        let found = self
            .products_by_id(&[product])
            .await?
            .remove(&product)
            .ok_or_else(|| AppError::not_found("Product", product))?;
        self.authorize_view(caller, restaurant, found.supplier_id)?;
        let lines = [(
            found.id,
            found.unit_price.amount,
            found.unit_price.currency.clone(),
            quantity,
        )];
        Self::resolve_on(&self.db, restaurant, &lines, at)
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no price resolved for {product}").into())
    }

    /// Creates a price list with its entries (audited).
    #[tracing::instrument(skip_all, fields(caller = %caller, supplier_id = %input.supplier_id))]
    pub async fn create_list(
        &self,
        caller: &Caller,
        input: NewPriceList,
    ) -> Result<PriceList, AppError> {
        authorize_supplier(caller, input.supplier_id)?;
        too_many_entries(&input.entries)?;
        let supplier = suppliers::find_many_live(&self.db, &[input.supplier_id])
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found("Supplier", input.supplier_id))?;
        let products = self
            .products_by_id(
                &input
                    .entries
                    .iter()
                    .map(|e| e.product_id)
                    .collect::<Vec<_>>(),
            )
            .await?;
        let mut v = Violations::default();
        let name = v.check("name", validation::text(&input.name, 100));
        let currency = match &input.currency {
            None => Some(supplier.currency.clone()),
            Some(raw) => v.check(
                "currency",
                Currency::parse(raw).and_then(|c| {
                    if c == supplier.currency {
                        Ok(c)
                    } else {
                        Err(format!(
                            "must be {}, the currency {} trades in",
                            supplier.currency.as_str(),
                            supplier.name
                        ))
                    }
                }),
            ),
        };
        check_window(input.valid_from, input.valid_to, &mut v);
        let priority = input.priority.unwrap_or(0);
        check_priority(priority, &mut v);
        let tiers = check_entries(&input.entries, &products, supplier.id, &mut v);
        v.finish()?;
        let (Some(name), Some(currency)) = (name, currency) else {
            return Err(anyhow::anyhow!("validated price list fields missing").into());
        };
        if repository::count_lists(&self.db, supplier.id).await? >= MAX_LISTS as u64 {
            return Err(AppError::Conflict(format!(
                "{} already keeps {MAX_LISTS} price lists; delete one first",
                supplier.name
            )));
        }
        let now = Utc::now();
        let model = price_lists::Model {
            id: Uuid::now_v7(),
            supplier_id: supplier.id,
            name,
            currency: currency.as_str().to_owned(),
            valid_from: input.valid_from,
            valid_to: input.valid_to,
            priority,
            active: input.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let txn = begin_write(&self.db).await?;
        repository::insert_list(&txn, model.clone()).await?;
        repository::replace_entries(&txn, model.id, &tiers).await?;
        let list = self.complete_one(&txn, model).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "price_list.create",
                entity: "price_list",
                entity_id: Some(list.id.to_string()),
                before: None,
                after: Some(list_summary(&list)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(list)
    }

    /// Changes a price list; given entries replace all of them (audited).
    #[tracing::instrument(skip_all, fields(caller = %caller, price_list_id = %id))]
    pub async fn update_list(
        &self,
        caller: &Caller,
        id: Uuid,
        changes: PriceListChanges,
    ) -> Result<PriceList, AppError> {
        let current = self.live_list(id).await?;
        authorize_supplier(caller, current.supplier_id)?;
        if let Some(entries) = &changes.entries {
            too_many_entries(entries)?;
        }
        let products = match &changes.entries {
            Some(entries) => {
                self.products_by_id(&entries.iter().map(|e| e.product_id).collect::<Vec<_>>())
                    .await?
            }
            None => HashMap::new(),
        };
        let mut v = Violations::default();
        let mut next = current.clone();
        if let Some(name) = &changes.name
            && let Some(name) = v.check("name", validation::text(name, 100))
        {
            next.name = name;
        }
        if let Some(from) = changes.valid_from {
            next.valid_from = from;
        }
        if let Some(to) = changes.valid_to {
            next.valid_to = to;
        }
        check_window(next.valid_from, next.valid_to, &mut v);
        if let Some(priority) = changes.priority {
            check_priority(priority, &mut v);
            next.priority = priority;
        }
        if let Some(active) = changes.active {
            next.active = active;
        }
        let tiers = changes
            .entries
            .as_ref()
            .map(|entries| check_entries(entries, &products, current.supplier_id, &mut v));
        v.finish()?;
        next.updated_at = Utc::now();
        let txn = begin_write(&self.db).await?;
        let before = list_summary(&self.complete_one(&txn, current).await?);
        if !repository::update_list(&txn, next.clone()).await? {
            return Err(AppError::not_found("Price list", id));
        }
        if let Some(tiers) = &tiers {
            repository::replace_entries(&txn, id, tiers).await?;
        }
        let list = self.complete_one(&txn, next).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "price_list.update",
                entity: "price_list",
                entity_id: Some(id.to_string()),
                before: Some(before),
                after: Some(list_summary(&list)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(list)
    }

    /// Soft-deletes a price list: it prices nothing from now on; orders keep their snapshot.
    pub async fn delete_list(&self, caller: &Caller, id: Uuid) -> Result<Uuid, AppError> {
        let current = self.live_list(id).await?;
        authorize_supplier(caller, current.supplier_id)?;
        let mut gone = current.clone();
        gone.deleted_at = Some(Utc::now());
        gone.updated_at = Utc::now();
        let txn = begin_write(&self.db).await?;
        if !repository::update_list(&txn, gone).await? {
            return Err(AppError::not_found("Price list", id));
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "price_list.delete",
                entity: "price_list",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "name": current.name })),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// Assigns a list to restaurants, customer groups or every customer, or (with `remove`)
    /// takes such assignments away (audited).
    pub async fn assign(
        &self,
        caller: &Caller,
        id: Uuid,
        targets: Vec<AssignmentTarget>,
        remove: bool,
    ) -> Result<PriceList, AppError> {
        let current = self.live_list(id).await?;
        authorize_supplier(caller, current.supplier_id)?;
        if targets.is_empty() || targets.len() > MAX_ASSIGNMENTS {
            return Err(AppError::validation(
                "restaurantIds",
                format!("give 1 to {MAX_ASSIGNMENTS} restaurants, customer groups or allCustomers"),
            ));
        }
        let named: Vec<Uuid> = targets
            .iter()
            .filter_map(|t| match t {
                AssignmentTarget::Restaurant(r) => Some(*r),
                _ => None,
            })
            .collect();
        let live: HashSet<Uuid> = restaurants::find_many_live(&self.db, &named)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let mut targets_checked = Vec::with_capacity(targets.len());
        let (mut restaurant_index, mut group_index) = (0, 0);
        for target in targets {
            match target {
                AssignmentTarget::Restaurant(r) => {
                    if !remove && !live.contains(&r) {
                        return Err(AppError::validation(
                            format!("restaurantIds[{restaurant_index}]"),
                            "is not a restaurant on the marketplace",
                        ));
                    }
                    restaurant_index += 1;
                    targets_checked.push(AssignmentTarget::Restaurant(r));
                }
                AssignmentTarget::CustomerGroup(name) => {
                    let field = format!("customerGroups[{group_index}]");
                    group_index += 1;
                    targets_checked
                        .push(AssignmentTarget::CustomerGroup(group_name(&name, &field)?));
                }
                AssignmentTarget::AllCustomers => {
                    targets_checked.push(AssignmentTarget::AllCustomers)
                }
            }
        }
        let txn = begin_write(&self.db).await?;
        if remove {
            repository::unassign(&txn, id, &targets_checked).await?;
        } else {
            repository::assign(&txn, id, &targets_checked, Utc::now()).await?;
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: if remove {
                    "price_list.unassign"
                } else {
                    "price_list.assign"
                },
                entity: "price_list",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(json!({
                    "targets": targets_checked.iter().map(AssignmentTarget::key).collect::<Vec<_>>()
                })),
            },
        )
        .await?;
        let list = self.complete_one(&txn, current).await?;
        txn.commit().await?;
        Ok(list)
    }

    /// Makes a supplier's customer group exactly these restaurants (audited); an empty list
    /// dissolves it.
    pub async fn set_customer_group(
        &self,
        caller: &Caller,
        supplier: Uuid,
        name: &str,
        members: Vec<Uuid>,
    ) -> Result<Vec<Uuid>, AppError> {
        authorize_supplier(caller, supplier)?;
        let name = group_name(name, "name")?;
        if members.len() > MAX_ASSIGNMENTS {
            return Err(AppError::validation(
                "restaurantIds",
                format!("must hold at most {MAX_ASSIGNMENTS} restaurants"),
            ));
        }
        let live: HashSet<Uuid> = restaurants::find_many_live(&self.db, &members)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let mut unique = Vec::new();
        for (i, r) in members.into_iter().enumerate() {
            if !live.contains(&r) {
                return Err(AppError::validation(
                    format!("restaurantIds[{i}]"),
                    "is not a restaurant on the marketplace",
                ));
            }
            if !unique.contains(&r) {
                unique.push(r);
            }
        }
        let txn = begin_write(&self.db).await?;
        let before = repository::group_members(&txn, supplier, &name).await?;
        repository::set_group(&txn, supplier, &name, &unique, Utc::now()).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "customer_group.set",
                entity: "customer_group",
                entity_id: Some(format!("{supplier}:{name}")),
                before: Some(json!({ "restaurants": before })),
                after: Some(json!({ "restaurants": unique })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(unique)
    }

    /// The restaurants of a supplier's customer group (its members and admins).
    pub async fn customer_group(
        &self,
        caller: &Caller,
        supplier: Uuid,
        name: &str,
    ) -> Result<Vec<Uuid>, AppError> {
        authorize_supplier(caller, supplier)?;
        repository::group_members(&self.db, supplier, name.trim()).await
    }

    /// FORBIDDEN unless the caller may see what `restaurant` pays for `supplier`'s products.
    pub fn authorize_view(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        supplier: Uuid,
    ) -> Result<(), AppError> {
        match &caller.principal {
            Principal::Anonymous => Err(AppError::Unauthenticated(
                "sign in to see a restaurant's prices".into(),
            )),
            p if may_view_prices(p, restaurant, supplier) => Ok(()),
            _ => Err(AppError::Forbidden(
                "only the restaurant's members, the supplier's members and admins see the restaurant's prices"
                    .into(),
            )),
        }
    }

    /// The lists that may price these products for `restaurant` at `at` (for loaders: the
    /// adapter asked [`Self::authorize_view`] for each product first). One statement.
    pub async fn candidates(
        &self,
        restaurant: Uuid,
        products: &[Uuid],
        at: DateTime<Utc>,
    ) -> Result<HashMap<Uuid, Vec<Candidate>>, AppError> {
        repository::candidates(&self.db, restaurant, products, at).await
    }

    /// The prices `restaurant` pays for these (product, quantity) pairs now, on `db` (an
    /// order's transaction): one statement. In the given order.
    pub(crate) async fn resolve_on(
        db: &impl ConnectionTrait,
        restaurant: Uuid,
        lines: &[(Uuid, Decimal, Currency, i64)],
        at: DateTime<Utc>,
    ) -> Result<Vec<ResolvedPrice>, AppError> {
        let ids: Vec<Uuid> = lines.iter().map(|l| l.0).collect();
        let candidates = repository::candidates(db, restaurant, &ids, at).await?;
        Ok(lines
            .iter()
            .map(|(product, list_price, currency, quantity)| {
                super::resolve(
                    *list_price,
                    currency,
                    candidates.get(product).map_or(&[], |c| c.as_slice()),
                    *quantity,
                    at,
                )
            })
            .collect())
    }

    /// What `restaurant` pays for these products at these quantities now (callers checked).
    pub async fn resolve_products(
        &self,
        restaurant: Uuid,
        products: &[(&catalog::Product, i64)],
    ) -> Result<Vec<ResolvedPrice>, AppError> {
        let lines: Vec<(Uuid, Decimal, Currency, i64)> = products
            .iter()
            .map(|(p, q)| (p.id, p.unit_price.amount, p.unit_price.currency.clone(), *q))
            .collect();
        Self::resolve_on(&self.db, restaurant, &lines, Utc::now()).await
    }

    // ----- dynamic prices ---------------------------------------------------------------

    /// A supplier's rules (its members and admins).
    pub async fn rules(&self, caller: &Caller, supplier: Uuid) -> Result<Vec<PriceRule>, AppError> {
        authorize_supplier(caller, supplier)?;
        repository::rules(&self.db, Some(supplier), false).await
    }

    /// Creates or changes a dynamic rule (audited).
    pub async fn save_rule(
        &self,
        caller: &Caller,
        input: PriceRuleInput,
    ) -> Result<PriceRule, AppError> {
        authorize_supplier(caller, input.supplier_id)?;
        let existing = match input.id {
            Some(id) => {
                let rule = repository::find_rule(&self.db, id)
                    .await?
                    .filter(|r| r.supplier_id == input.supplier_id)
                    .ok_or_else(|| {
                        AppError::validation(
                            "id",
                            "names no price rule of the supplier (leave it out to create one)",
                        )
                    })?;
                Some(rule)
            }
            None => None,
        };
        let mut v = Violations::default();
        let mut base = None;
        let category = match (&input.product_id, &input.category) {
            (Some(product), None) => {
                match self.products_by_id(&[*product]).await?.remove(product) {
                    Some(p) if p.supplier_id == input.supplier_id => base = Some(p.base_price),
                    Some(_) => {
                        v.check::<()>("productId", Err("is another supplier's product".into()));
                    }
                    None => {
                        v.check::<()>(
                            "productId",
                            Err("is not a product on the marketplace".into()),
                        );
                    }
                }
                None
            }
            (None, Some(category)) => v.check("category", validation::text(category, 100)),
            _ => {
                v.check::<()>(
                    "productId",
                    Err("give either productId or category, not both or neither".into()),
                );
                None
            }
        };
        for (field, rule) in dynamic::check_rule(&input.bounds, base) {
            v.check::<()>(field, Err(rule));
        }
        v.finish()?;
        let now = Utc::now();
        let rule = PriceRule {
            id: existing.as_ref().map_or_else(Uuid::now_v7, |r| r.id),
            supplier_id: input.supplier_id,
            product_id: input.product_id,
            category,
            bounds: input.bounds,
            active: input.active,
            created_at: existing.as_ref().map_or(now, |r| r.created_at),
            updated_at: now,
        };
        let txn = begin_write(&self.db).await?;
        repository::save_rule(&txn, &rule, existing.is_some()).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: if existing.is_some() {
                    "price_rule.update"
                } else {
                    "price_rule.create"
                },
                entity: "price_rule",
                entity_id: Some(rule.id.to_string()),
                before: existing.as_ref().map(rule_json),
                after: Some(rule_json(&rule)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(rule)
    }

    /// Soft-deletes a rule (audited); prices it set stay. With `supplier`, NOT_FOUND unless the
    /// rule is that supplier's.
    pub async fn delete_rule(
        &self,
        caller: &Caller,
        supplier: Option<Uuid>,
        id: Uuid,
    ) -> Result<Uuid, AppError> {
        let rule = repository::find_rule(&self.db, id)
            .await?
            .filter(|r| supplier.is_none_or(|s| s == r.supplier_id))
            .ok_or_else(|| AppError::not_found("Price rule", id))?;
        authorize_supplier(caller, rule.supplier_id)?;
        let txn = begin_write(&self.db).await?;
        repository::delete_rule(&txn, id, Utc::now()).await?;
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "price_rule.delete",
                entity: "price_rule",
                entity_id: Some(id.to_string()),
                before: Some(rule_json(&rule)),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// What a refresh of the supplier's rules would change now, writing nothing (its members
    /// and admins).
    pub async fn preview_refresh(
        &self,
        caller: &Caller,
        supplier: Uuid,
    ) -> Result<RefreshOutcome, AppError> {
        authorize_supplier(caller, supplier)?;
        self.refresh(Some(supplier), None, true, |_| async {}).await
    }

    /// Applies every active rule (of one supplier, or all): proposes each governed product's
    /// next price from its signals and, unless `dry_run`, moves it, records the change and its
    /// `product.price_changed` event — batch by batch, each batch one transaction. `progress`
    /// hears the running outcome after each batch.
    #[tracing::instrument(skip_all, fields(dry_run))]
    pub async fn refresh<F, Fut>(
        &self,
        supplier: Option<Uuid>,
        run: Option<Uuid>,
        dry_run: bool,
        mut progress: F,
    ) -> Result<RefreshOutcome, AppError>
    where
        F: FnMut(&RefreshOutcome) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let rules = repository::rules(&self.db, supplier, true).await?;
        let mut outcome = RefreshOutcome {
            dry_run,
            ..RefreshOutcome::default()
        };
        if rules.is_empty() {
            return Ok(outcome);
        }
        let suppliers: Vec<Uuid> = rules
            .iter()
            .map(|r| r.supplier_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut after = None;
        loop {
            let batch =
                repository::products_of_suppliers(&self.db, &suppliers, after, REFRESH_BATCH)
                    .await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.id);
            let full = batch.len() as u64 == REFRESH_BATCH;
            let ruled: Vec<Ruled<'_>> = batch
                .into_iter()
                .filter_map(|product| {
                    let rule = rule_for(&rules, &product)?;
                    Some(Ruled { product, rule })
                })
                .collect();
            if !ruled.is_empty() {
                self.refresh_batch(&ruled, run, dry_run, &mut outcome)
                    .await?;
                progress(&outcome).await;
            }
            if !full {
                break;
            }
        }
        Ok(outcome)
    }

    async fn refresh_batch(
        &self,
        ruled: &[Ruled<'_>],
        run: Option<Uuid>,
        dry_run: bool,
        outcome: &mut RefreshOutcome,
    ) -> Result<(), AppError> {
        let now = Utc::now();
        let ids: Vec<Uuid> = ruled.iter().map(|r| r.product.id).collect();
        let forecast = self.deps.planning.supplier_daily_demand(&ids, 7).await?;
        let month = repository::ordered_since(&self.db, &ids, now - Duration::days(28)).await?;
        let week = repository::ordered_since(&self.db, &ids, now - Duration::days(7)).await?;
        let mut proposed = Vec::new();
        for Ruled { product, rule } in ruled {
            let ordered_month = month.get(&product.id).copied().unwrap_or(0);
            let (daily_demand, source) = match forecast.get(&product.id) {
                Some(demand) => (Some(*demand), dynamic::DemandSource::Forecast),
                None if ordered_month > 0 => (
                    Some((Decimal::from(ordered_month) / Decimal::from(28)).round_dp(3)),
                    dynamic::DemandSource::RecentOrders,
                ),
                None => (None, dynamic::DemandSource::None),
            };
            let signals = dynamic::Signals {
                on_hand: product.stock_on_hand,
                daily_demand,
                demand_source: source,
                recent_daily_orders: Some(
                    (Decimal::from(week.get(&product.id).copied().unwrap_or(0)) / Decimal::from(7))
                        .round_dp(3),
                ),
            };
            let proposal = dynamic::propose(
                money::from_milli(product.unit_price_milli),
                money::from_milli(product.base_price_milli),
                &rule.bounds,
                &signals,
            );
            outcome.products += 1;
            if !proposal.changes() {
                outcome.unchanged += 1;
                continue;
            }
            proposed.push(ProposedChange {
                product_id: product.id,
                supplier_id: product.supplier_id,
                sku: product.sku.clone(),
                name: product.name.clone(),
                rule_id: rule.id,
                currency: product.currency.clone(),
                proposal,
                signals,
            });
        }
        if dry_run {
            outcome.changed += proposed.len() as u64;
            let room = PREVIEW_LIMIT.saturating_sub(outcome.changes.len());
            outcome.changes.extend(proposed.into_iter().take(room));
            return Ok(());
        }
        if proposed.is_empty() {
            return Ok(());
        }
        let bases: HashMap<Uuid, i64> = ruled
            .iter()
            .map(|r| (r.product.id, r.product.base_price_milli))
            .collect();
        let moves: Vec<repository::PriceMove> = proposed
            .iter()
            .filter_map(|c| {
                Some(repository::PriceMove {
                    product: c.product_id,
                    old_milli: money::to_milli(c.proposal.old_price).ok()?,
                    new_milli: money::to_milli(c.proposal.new_price).ok()?,
                    base_milli: *bases.get(&c.product_id)?,
                })
            })
            .collect();
        let buyers = repository::buyers_of(
            &self.db,
            &moves.iter().map(|m| m.product).collect::<Vec<_>>(),
            now - Duration::days(BUYER_WINDOW_DAYS),
        )
        .await?;
        let txn = begin_write(&self.db).await?;
        let moved: HashSet<Uuid> = repository::set_list_prices(&txn, &moves, now)
            .await?
            .into_iter()
            .collect();
        let mut rows = Vec::with_capacity(moved.len());
        let mut events = Vec::with_capacity(moved.len());
        for change in proposed.iter().filter(|c| moved.contains(&c.product_id)) {
            let (Ok(old), Ok(new)) = (
                money::to_milli(change.proposal.old_price),
                money::to_milli(change.proposal.new_price),
            ) else {
                continue;
            };
            let signals = json!({
                "onHand": change.signals.on_hand,
                "dailyDemand": change.signals.daily_demand,
                "demandSource": change.signals.demand_source,
                "recentDailyOrders": change.signals.recent_daily_orders,
                "coverDays": change.proposal.cover_days,
                "trend": change.proposal.trend,
                "floor": change.proposal.floor,
                "ceiling": change.proposal.ceiling,
            });
            let id = Uuid::now_v7();
            rows.push(entity::price_changes::Model {
                id,
                product_id: change.product_id,
                supplier_id: change.supplier_id,
                rule_id: Some(change.rule_id),
                job_run_id: run,
                old_price_milli: old,
                new_price_milli: new,
                reason: change.proposal.reason.to_owned(),
                signals: signals.clone(),
                changed_at: now,
            });
            events.push((
                change.product_id,
                json!({
                    "priceChangeId": id,
                    "product": {
                        "id": change.product_id,
                        "supplierId": change.supplier_id,
                        "sku": change.sku,
                        "name": change.name,
                    },
                    "supplierId": change.supplier_id,
                    "oldPrice": change.proposal.old_price.normalize().to_string(),
                    "newPrice": change.proposal.new_price.normalize().to_string(),
                    "currency": change.currency,
                    "reason": change.proposal.reason,
                    "ruleId": change.rule_id,
                    "jobRunId": run,
                    "changedAt": now,
                    outbox::ROUTING_KEY: {
                        "restaurants": buyers.get(&change.product_id).cloned().unwrap_or_default(),
                    },
                }),
            ));
        }
        outcome.changed += rows.len() as u64;
        outcome.unchanged += (proposed.len() - rows.len()) as u64;
        repository::insert_changes(&txn, rows).await?;
        outbox::record_many(&txn, outbox::PRODUCT_PRICE_CHANGED, "product", events, now).await?;
        txn.commit().await?;
        self.deps.waker.wake();
        Ok(())
    }

    /// Imports list price changes made before Iris (the system only: demo data, migrations
    /// from a previous system): each (when, old, new, reason) of one product; the product's
    /// list price becomes the last new price.
    pub async fn import_history(
        &self,
        caller: &Caller,
        product: Uuid,
        changes: Vec<(DateTime<Utc>, Decimal, Decimal, &'static str)>,
    ) -> Result<usize, AppError> {
        if !matches!(caller.principal, Principal::System) {
            return Err(AppError::Forbidden(
                "only Iris itself imports price history".into(),
            ));
        }
        let found = self
            .products_by_id(&[product])
            .await?
            .remove(&product)
            .ok_or_else(|| AppError::not_found("Product", product))?;
        let milli =
            |d: Decimal| money::to_milli(d).map_err(|e| AppError::validation("price", e.rule()));
        let mut rows = Vec::with_capacity(changes.len());
        for (at, old, new, reason) in &changes {
            rows.push(entity::price_changes::Model {
                id: Uuid::now_v7(),
                product_id: found.id,
                supplier_id: found.supplier_id,
                rule_id: None,
                job_run_id: None,
                old_price_milli: milli(*old)?,
                new_price_milli: milli(*new)?,
                reason: (*reason).to_owned(),
                signals: json!({ "imported": true }),
                changed_at: *at,
            });
        }
        let last = rows.last().map(|r| (r.new_price_milli, r.changed_at));
        let txn = begin_write(&self.db).await?;
        let count = rows.len();
        repository::insert_changes(&txn, rows).await?;
        if let Some((price, at)) = last {
            let moved = repository::PriceMove {
                product: found.id,
                old_milli: milli(found.unit_price.amount)?,
                new_milli: price,
                base_milli: milli(found.base_price)?,
            };
            repository::set_list_prices(&txn, &[moved], at).await?;
        }
        txn.commit().await?;
        Ok(count)
    }

    /// A product's list price changes, newest first. List prices are public; why they moved
    /// (the rule, the job run, the signals: the supplier's stock and bounds) is for the
    /// supplier's members and admins only.
    pub async fn history(
        &self,
        caller: &Caller,
        product: Uuid,
        limit: u64,
    ) -> Result<Vec<PriceChange>, AppError> {
        let Some(found) = self.products_by_id(&[product]).await?.remove(&product) else {
            return Ok(Vec::new());
        };
        let insider = caller.principal.is_admin()
            || caller.principal.supplier_role(found.supplier_id).is_some();
        let mut changes = repository::history(
            &self.db,
            product,
            found.unit_price.currency.as_str(),
            limit.clamp(1, 500),
        )
        .await?;
        if !insider {
            for change in &mut changes {
                change.rule_id = None;
                change.job_run_id = None;
                change.signals = serde_json::Value::Null;
            }
        }
        Ok(changes)
    }

    // ----- recommendation and comparison -------------------------------------------------

    /// FORBIDDEN unless the caller acts for the restaurant (its members and admins).
    pub fn authorize_restaurant(&self, caller: &Caller, restaurant: Uuid) -> Result<(), AppError> {
        Self::restaurant_only(caller, restaurant)
    }

    fn restaurant_only(caller: &Caller, restaurant: Uuid) -> Result<(), AppError> {
        match &caller.principal {
            Principal::Anonymous => Err(AppError::Unauthenticated(
                "sign in to get recommendations".into(),
            )),
            p if p.is_admin() || p.restaurant_role(restaurant).is_some() => Ok(()),
            _ => Err(AppError::Forbidden(
                "only the restaurant's members and admins get its recommendations".into(),
            )),
        }
    }

    /// Suppliers for a restaurant in a category (or for products matching a query), best
    /// first, each score with its components.
    #[tracing::instrument(skip_all, fields(caller = %caller, restaurant_id = %restaurant))]
    pub async fn recommend(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        category: Option<&str>,
        product_query: Option<&str>,
        limit: usize,
    ) -> Result<Recommendations, AppError> {
        Self::restaurant_only(caller, restaurant)?;
        let (category, query) = match (category, product_query) {
            (Some(c), None) => (
                Some(validation::text(c, 100).map_err(|r| AppError::validation("category", r))?),
                None,
            ),
            (None, Some(q)) => (
                None,
                Some(
                    validation::text(q, 100)
                        .map_err(|r| AppError::validation("productQuery", r))?,
                ),
            ),
            _ => {
                return Err(AppError::validation(
                    "category",
                    "give either category or productQuery, not both or neither",
                ));
            }
        };
        if !(1..=50).contains(&limit) {
            return Err(AppError::validation("first", "must be between 1 and 50"));
        }
        let here = repository::restaurant_point(&self.db, restaurant)
            .await?
            .ok_or_else(|| AppError::not_found("Restaurant", restaurant))?;
        let offered = repository::offered_products(
            &self.db,
            category.as_deref(),
            query.as_deref(),
            MAX_OFFERED,
        )
        .await?;
        let basket = repository::typical_basket(
            &self.db,
            restaurant,
            category.as_deref(),
            query.as_deref(),
            Utc::now() - Duration::days(90),
        )
        .await?;
        // Every offered product, priced for the restaurant.
        let priced = self
            .resolve_products(
                restaurant,
                &offered.iter().map(|p| (p, 1)).collect::<Vec<_>>(),
            )
            .await?;
        let mut by_supplier: HashMap<Uuid, Vec<(&catalog::Product, Decimal)>> = HashMap::new();
        for (product, price) in offered.iter().zip(&priced) {
            by_supplier
                .entry(product.supplier_id)
                .or_default()
                .push((product, price.unit_price));
        }
        let supplier_ids: Vec<Uuid> = by_supplier.keys().copied().collect();
        let points = repository::supplier_points(&self.db, &supplier_ids).await?;
        let performance = self.deps.performance.by_suppliers(&supplier_ids).await?;
        // The basket: what the restaurant bought in 90 days, or one unit of each kind of
        // thing offered when it bought nothing yet.
        // Each name's trigrams once: every comparison below is two set operations.
        let offered_keys: Vec<recommend::Comparable> = offered
            .iter()
            .map(|p| recommend::Comparable::of(&p.category, p.unit, &p.name))
            .collect();
        let basket: Vec<(recommend::Comparable, Decimal)> = if basket.is_empty() {
            let mut kinds: Vec<(recommend::Comparable, Decimal)> = Vec::new();
            for key in &offered_keys {
                if kinds.len() >= MAX_BASKET {
                    break;
                }
                if !kinds.iter().any(|(k, _)| k.equivalence(key).is_some()) {
                    kinds.push((key.clone(), Decimal::ONE));
                }
            }
            kinds
        } else {
            basket
                .into_iter()
                .take(MAX_BASKET)
                .map(|(c, u, n, q)| (recommend::Comparable::of(&c, u, &n), q))
                .collect()
        };
        let keys_of: HashMap<Uuid, &recommend::Comparable> = offered
            .iter()
            .zip(&offered_keys)
            .map(|(p, k)| (p.id, k))
            .collect();
        let mut found: Vec<Recommendation> = Vec::new();
        for (supplier, products) in &by_supplier {
            let mut cost = Decimal::ZERO;
            let mut covered = 0usize;
            for (kind, quantity) in &basket {
                let best = products
                    .iter()
                    .filter_map(|(p, price)| {
                        let similarity = kind.equivalence(keys_of.get(&p.id)?)?;
                        Some((similarity, recommend::comparable(p.unit, *price).1))
                    })
                    .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
                if let Some((_, per_unit)) = best {
                    covered += 1;
                    cost += per_unit * recommend::comparable_quantity(kind.unit, *quantity);
                }
            }
            let coverage = if basket.is_empty() {
                0.0
            } else {
                covered as f64 / basket.len() as f64
            };
            let distance_km = match (here, points.get(supplier)) {
                (Some(a), Some(b)) => Some(recommend::haversine_km(a, *b)),
                _ => None,
            };
            let perf = performance.get(supplier);
            found.push(Recommendation {
                supplier_id: *supplier,
                score: 0.0,
                reliability: recommend::reliability(
                    perf.and_then(|p| p.on_time_rate),
                    perf.and_then(|p| p.fill_rate),
                ),
                price: 0.0,
                proximity: recommend::proximity(distance_km),
                distance_km: distance_km.map(|km| (km * 10.0).round() / 10.0),
                basket_cost: (covered > 0).then(|| cost.round_dp(2).normalize()),
                currency: products
                    .first()
                    .map(|(p, _)| p.unit_price.currency.as_str().to_owned())
                    .unwrap_or_default(),
                coverage: (coverage * 10_000.0).round() / 10_000.0,
                matching_products: products.len() as u64,
            });
        }
        // Prices compare within a currency: the cheapest full-coverage basket per currency.
        let cheapest: HashMap<String, Decimal> = found.iter().fold(HashMap::new(), |mut acc, r| {
            if let Some(cost) = r.basket_cost.filter(|_| r.coverage >= 1.0) {
                acc.entry(r.currency.clone())
                    .and_modify(|c: &mut Decimal| *c = (*c).min(cost))
                    .or_insert(cost);
            }
            acc
        });
        let weights = self.deps.weights;
        for r in &mut found {
            let best = cheapest.get(&r.currency).copied().or(r.basket_cost);
            r.price = (recommend::price_score(r.basket_cost, best, r.coverage) * 10_000.0).round()
                / 10_000.0;
            r.reliability = (r.reliability * 10_000.0).round() / 10_000.0;
            r.proximity = (r.proximity * 10_000.0).round() / 10_000.0;
            r.score = recommend::total(weights, r.reliability, r.price, r.proximity);
        }
        found.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.supplier_id.cmp(&b.supplier_id))
        });
        found.truncate(limit);
        Ok(Recommendations {
            weights,
            suppliers: found,
        })
    }

    /// The product and its equivalents at every supplier (same category, comparable unit,
    /// similar name), each priced for the restaurant, cheapest per comparable unit first.
    pub async fn compare(
        &self,
        caller: &Caller,
        restaurant: Uuid,
        product: Uuid,
    ) -> Result<Vec<Comparison>, AppError> {
        Self::restaurant_only(caller, restaurant)?;
        let original = self
            .products_by_id(&[product])
            .await?
            .remove(&product)
            .ok_or_else(|| AppError::not_found("Product", product))?;
        let offered =
            repository::offered_products(&self.db, Some(&original.category), None, MAX_OFFERED)
                .await?;
        let equivalents: Vec<(catalog::Product, f64)> = offered
            .into_iter()
            .filter_map(|p| {
                let similarity = if p.id == original.id {
                    1.0
                } else {
                    recommend::equivalence(
                        (&original.category, original.unit, &original.name),
                        (&p.category, p.unit, &p.name),
                    )?
                };
                Some((p, similarity))
            })
            .collect();
        let prices = self
            .resolve_products(
                restaurant,
                &equivalents.iter().map(|(p, _)| (p, 1)).collect::<Vec<_>>(),
            )
            .await?;
        let mut found: Vec<Comparison> = equivalents
            .into_iter()
            .zip(prices)
            .map(|((product, similarity), price)| {
                let (unit, per) = recommend::comparable(product.unit, price.unit_price);
                Comparison {
                    comparable_unit: unit,
                    comparable_price: per.round_dp(3).normalize(),
                    similarity: (similarity * 10_000.0).round() / 10_000.0,
                    product,
                    price,
                }
            })
            .collect();
        found.sort_by(|a, b| {
            a.comparable_price
                .cmp(&b.comparable_price)
                .then(a.product.id.cmp(&b.product.id))
        });
        found.truncate(MAX_COMPARISONS);
        Ok(found)
    }
}

fn rule_json(rule: &PriceRule) -> serde_json::Value {
    json!({
        "productId": rule.product_id,
        "category": rule.category,
        "floor": rule.bounds.floor,
        "ceiling": rule.bounds.ceiling,
        "maxStepPercent": rule.bounds.max_step_percent,
        "minCoverDays": rule.bounds.min_cover_days,
        "maxCoverDays": rule.bounds.max_cover_days,
        "active": rule.active,
    })
}
