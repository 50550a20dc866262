//! The product service: catalog upkeep by suppliers, browsing and search by everyone.

use crate::infra::db::Db;
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::products;
use serde_json::json;
use uuid::Uuid;

use super::{
    Allergen, DietaryTag, MAX_BATCH, Product, ProductFilter, ProductInput, ProductSort, Unit,
    ValidProduct,
    repository::{self, fold},
};
use crate::{
    auth::{Caller, Principal},
    domain::{
        kernel::{
            money::{self, Currency},
            pagination::{Page, PageRequest},
            validation::{self, Violations},
        },
        platform::audit::{self, AuditEntry},
        suppliers,
    },
    error::AppError,
    infra::db::begin_write,
};

#[derive(Clone)]
pub struct ProductService {
    db: Db,
}

/// A supplier's members (any role) and admins manage its catalog.
fn authorize_catalog(caller: &Caller, supplier: Uuid) -> Result<(), AppError> {
    match &caller.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated(
            "sign in to manage products".into(),
        )),
        p if p.is_admin() || p.supplier_role(supplier).is_some() => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the supplier's members and admins manage its products".into(),
        )),
    }
}

fn sku(raw: &str) -> Result<String, String> {
    let value = validation::text(raw, 64)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        Ok(value)
    } else {
        Err("may contain letters, digits, `-`, `_`, `.` and `/` only".into())
    }
}

fn validate(
    item: &ProductInput,
    at: &str,
    default_currency: &Currency,
    v: &mut Violations,
) -> Option<ValidProduct> {
    let field = |name: &str| format!("{at}.{name}");
    let sku = v.check(&field("sku"), sku(&item.sku));
    let name = v.check(&field("name"), validation::text(&item.name, 200));
    let description = match item.description.as_deref() {
        Some(d) if !d.trim().is_empty() => v
            .check(&field("description"), validation::text(d, 2000))
            .map(Some),
        _ => Some(None),
    };
    let category = v.check(&field("category"), validation::text(&item.category, 100));
    let unit = v.check(
        &field("unit"),
        Unit::parse(&item.unit)
            .ok_or_else(|| "must be KG, G, L, CL, PIECE, PACK, BOX or CASE".to_owned()),
    );
    let price = v.check(
        &field("unitPrice"),
        if item.unit_price < rust_decimal::Decimal::new(1, 3) {
            Err("must be at least 0.001".to_owned())
        } else {
            money::to_milli(item.unit_price).map_err(|e| e.rule())
        },
    );
    let currency = match &item.currency {
        Some(code) => v.check(&field("currency"), Currency::parse(code)),
        None => Some(default_currency.clone()),
    };
    let stock = match item.stock_on_hand {
        Some(n) if n < 0 => {
            v.check::<Option<i64>>(&field("stockOnHand"), Err("must not be negative".into()))
        }
        other => Some(other),
    };
    let tax_rate = match item.tax_rate {
        Some(rate) => v
            .check(&field("taxRate"), super::tax_rate_bp(rate))
            .map(Some),
        None => Some(None),
    };
    Some(ValidProduct {
        tax_rate_bp: tax_rate?,
        sku: sku?,
        name: name?,
        description: description?,
        category: category?,
        unit: unit?,
        unit_price_milli: price?,
        currency: currency?,
        stock_on_hand: stock?,
        allergens: Allergen::mask(&item.allergens),
        dietary_tags: DietaryTag::mask(&item.dietary_tags),
        active: item.active.unwrap_or(true),
    })
}

impl ProductService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates or updates products of one supplier by SKU, all or nothing: every invalid item is
    /// reported (`items[i].field`) and nothing is written unless all are valid.
    #[tracing::instrument(skip_all, fields(caller = %caller, supplier_id = %supplier, items = items.len()))]
    pub async fn upsert(
        &self,
        caller: &Caller,
        supplier: Uuid,
        items: Vec<ProductInput>,
    ) -> Result<Vec<Product>, AppError> {
        authorize_catalog(caller, supplier)?;
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(AppError::validation(
                "items",
                format!("must hold 1 to {MAX_BATCH} products"),
            ));
        }
        let owner = suppliers::find_many_live(&self.db, &[supplier])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::not_found("Supplier", supplier))?;
        let default_currency = owner.currency;

        let mut v = Violations::default();
        let mut seen = HashSet::new();
        let mut valid = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("items[{i}]");
            if !seen.insert(fold(&item.sku)) {
                v.check::<()>(
                    &format!("{at}.sku"),
                    Err("appears twice in this batch".into()),
                );
            }
            valid.push(validate(item, &at, &default_currency, &mut v));
        }
        v.finish()?;
        let valid: Vec<ValidProduct> = valid.into_iter().flatten().collect();

        let now = Utc::now();
        let txn = begin_write(&self.db).await?;
        let existing: HashMap<String, products::Model> =
            repository::find_by_skus(&txn, supplier, valid.iter().map(|p| fold(&p.sku)).collect())
                .await?
                .into_iter()
                .map(|m| (m.sku_folded.clone(), m))
                .collect();
        let (mut created, mut updated) = (0usize, 0usize);
        let mut ids = Vec::with_capacity(valid.len());
        for p in valid {
            let current = existing.get(&fold(&p.sku));
            let id = current.map_or_else(Uuid::now_v7, |m| m.id);
            repository::save(&txn, supplier, id, p, current, now).await?;
            if current.is_some() {
                updated += 1;
            } else {
                created += 1;
            }
            ids.push(id);
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "product.upsert",
                entity: "supplier",
                entity_id: Some(supplier.to_string()),
                before: None,
                after: Some(json!({ "created": created, "updated": updated })),
            },
        )
        .await?;
        let rows: HashMap<Uuid, products::Model> =
            repository::find_many_including_deleted(&txn, &ids)
                .await?
                .into_iter()
                .map(|m| (m.id, m))
                .collect();
        txn.commit().await?;
        tracing::info!(created, updated, "products upserted");
        Ok(ids
            .into_iter()
            .filter_map(|id| rows.get(&id).cloned().map(repository::to_domain))
            .collect())
    }

    /// Soft-deletes a product (its supplier's members and admins).
    #[tracing::instrument(skip_all, fields(caller = %caller, product_id = %id))]
    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<(), AppError> {
        let product = repository::find_live(&self.db, id)
            .await?
            .ok_or_else(|| AppError::not_found("Product", id))?;
        authorize_catalog(caller, product.supplier_id)?;
        let txn = begin_write(&self.db).await?;
        if !repository::soft_delete(&txn, id, Utc::now()).await? {
            return Err(AppError::not_found("Product", id));
        }
        audit::record(
            &txn,
            caller,
            None,
            AuditEntry {
                action: "product.delete",
                entity: "product",
                entity_id: Some(id.to_string()),
                before: Some(json!({ "sku": product.sku, "name": product.name })),
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn get(&self, id: Uuid) -> Result<Product, AppError> {
        repository::find_live(&self.db, id)
            .await?
            .map(repository::to_domain)
            .ok_or_else(|| AppError::not_found("Product", id))
    }

    /// Products by id, deleted ones included (order lines keep pointing at them).
    pub async fn by_ids(&self, ids: &[Uuid]) -> Result<Vec<Product>, AppError> {
        Ok(repository::find_many_including_deleted(&self.db, ids)
            .await?
            .into_iter()
            .map(repository::to_domain)
            .collect())
    }

    /// The live products of a supplier as (id, SKU), for mapping a wholesaler's mirrored
    /// catalog onto them.
    pub async fn skus_of(&self, supplier: Uuid) -> Result<Vec<(Uuid, String)>, AppError> {
        repository::skus_of(&self.db, supplier).await
    }

    /// Products by id still on the marketplace (deleted ones left out).
    pub async fn live_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Product>, AppError> {
        Ok(repository::find_many_live(&self.db, ids)
            .await?
            .into_iter()
            .map(repository::to_domain)
            .collect())
    }

    /// The first `per_supplier` live, active products of each supplier, by name (one query for
    /// all suppliers).
    pub async fn catalogs(
        &self,
        suppliers: &[Uuid],
        per_supplier: u64,
    ) -> Result<HashMap<Uuid, Vec<Product>>, AppError> {
        let mut by_supplier: HashMap<Uuid, Vec<Product>> = HashMap::new();
        for product in repository::first_of_suppliers(&self.db, suppliers, per_supplier).await? {
            by_supplier
                .entry(product.supplier_id)
                .or_default()
                .push(product);
        }
        Ok(by_supplier)
    }

    pub async fn list(
        &self,
        filter: &ProductFilter,
        sort: ProductSort,
        page: PageRequest,
    ) -> Result<Page<Product>, AppError> {
        repository::list(&self.db, filter, sort, &page).await
    }
}
