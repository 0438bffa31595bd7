//! What the identity-provider scanners (Entra ID, Okta) share: whole lists read into typed items,
//! each list one coverage unit, so that a list that could not be read misses its unit (and the
//! run is partial) while the others are still vouched for.

use crate::coverage::{Miss, MissClass};
use crate::rest::{IdpPaging, RestClient};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

/// The misses of one identity-provider sweep, gathered list by list.
pub(crate) struct Listings<'r> {
    rest: &'r RestClient,
    paging: IdpPaging,
    page_size: u32,
    pub(crate) misses: Vec<Miss>,
}

impl<'r> Listings<'r> {
    pub(crate) fn new(rest: &'r RestClient, paging: IdpPaging, page_size: u32) -> Listings<'r> {
        Listings {
            rest,
            paging,
            page_size,
            misses: Vec::new(),
        }
    }

    /// Reads the whole list at `route` as unit `unit`. A list that cannot be read misses the
    /// unit (a 401/403 as a denial that names `permission`) and gives `None`; an item that cannot
    /// be decoded misses the unit too and is skipped.
    pub(crate) async fn read<T: DeserializeOwned>(
        &mut self,
        unit: &str,
        route: &str,
        permission: &str,
    ) -> Option<Vec<T>> {
        match self
            .rest
            .get_all_idp(route, self.paging, self.page_size)
            .await
        {
            Ok(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.into_iter().enumerate() {
                    match serde_json::from_value(v) {
                        Ok(t) => out.push(t),
                        Err(e) => self.misses.push(Miss::new(
                            unit,
                            MissClass::Error,
                            format!("{route}: item {i} skipped, unreadable: {e}"),
                        )),
                    }
                }
                Some(out)
            }
            Err(e) => {
                let class = MissClass::of_http(e.status(), permission);
                self.misses.push(Miss::new(unit, class, e.to_string()));
                None
            }
        }
    }
}

/// A provider's timestamp, or `None` when it is absent or unreadable (never a guess).
pub(crate) fn time(s: Option<&str>) -> Option<DateTime<Utc>> {
    s.and_then(|s| crate::time::parse_time(s).ok())
}
