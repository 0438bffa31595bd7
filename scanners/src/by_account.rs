//! Credentials or grants looked up by the account that holds them: what evaluation and the store
//! ask of every account of a run, a million times for a large export.
//!
//! Scanners list what an account holds next to each other (an export row's groups, an IAM user's
//! keys), so the usual layout is one run of items per account. Then the lookup is an index of
//! those runs by a hash of the account name: one bisection over a compact array, no sort of the
//! items. Any other layout (an account's items in two places, or two runs whose names hash
//! alike) falls back to the items' indices sorted by account name, searched by bisection. Both
//! cost a vector, not a hash map of vectors, and both give an account's items in their original
//! order.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Items looked up by the account that holds them (see the module comment).
pub struct ByAccount<'a, T> {
    items: &'a [T],
    account: fn(&T) -> &str,
    index: Index,
}

enum Index {
    /// One run of items per account: (hash of its name, first item, item count), by hash.
    Runs {
        hasher: RandomState,
        runs: Vec<(u64, u32, u32)>,
    },
    /// The items' indices sorted by account name (stable: an account's items keep their order).
    Sorted(Vec<usize>),
}

impl<'a, T> ByAccount<'a, T> {
    pub fn new(items: &'a [T], account: fn(&T) -> &str) -> ByAccount<'a, T> {
        let index = runs(items, account).unwrap_or_else(|| {
            let mut order: Vec<usize> = (0..items.len()).collect();
            order.sort_by(|&a, &b| account(&items[a]).cmp(account(&items[b])));
            Index::Sorted(order)
        });
        ByAccount {
            items,
            account,
            index,
        }
    }

    /// The items held by `name`, in their original order.
    pub fn get<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a T> + 's {
        self.found(self.locate(name), name)
    }

    /// A walk over accounts in the order their items are listed (a scanner's own order): each
    /// lookup first looks where the last one ended, without a search.
    pub fn walk(&self) -> Walk<'_, 'a, T> {
        Walk { by: self, next: 0 }
    }

    /// Where `name`'s items are: a run (start, end) of the items, or where its indices start in
    /// the sorted order.
    fn locate(&self, name: &str) -> Found {
        match &self.index {
            Index::Runs { hasher, runs } => {
                let hash = hasher.hash_one(name);
                let run = runs
                    .binary_search_by_key(&hash, |r| r.0)
                    .ok()
                    .map(|i| {
                        let (_, start, len) = runs[i];
                        (start as usize, start as usize + len as usize)
                    })
                    // Runs' hashes are distinct, but a name that holds nothing may share one.
                    .filter(|&(start, _)| (self.account)(&self.items[start]) == name);
                Found::Run(run)
            }
            Index::Sorted(order) => {
                Found::Sorted(order.partition_point(|&i| (self.account)(&self.items[i]) < name))
            }
        }
    }

    fn found<'s>(&'s self, found: Found, name: &'s str) -> impl Iterator<Item = &'a T> + 's {
        let items = self.items;
        let account = self.account;
        let (run, sorted): (&'a [T], &'s [usize]) = match (found, &self.index) {
            (Found::Run(Some((start, end))), _) => (&items[start..end], &[]),
            (Found::Sorted(start), Index::Sorted(order)) => (&[], &order[start..]),
            _ => (&[], &[]),
        };
        run.iter().chain(
            sorted
                .iter()
                .take_while(move |&&i| account(&items[i]) == name)
                .map(move |&i| &items[i]),
        )
    }

    /// Items whose account is not in `names` (e.g. grants of accounts a scanner did not list).
    pub fn orphans<'n>(&self, names: &'n std::collections::HashSet<&str>) -> Vec<&'a T> {
        self.items
            .iter()
            .filter(|t| !names.contains((self.account)(t)))
            .collect()
    }
}

/// Where an account's items are (see [`ByAccount::locate`]).
#[derive(Clone, Copy)]
enum Found {
    Run(Option<(usize, usize)>),
    Sorted(usize),
}

/// Lookups of accounts in the order their items are listed (see [`ByAccount::walk`]).
pub struct Walk<'w, 'a, T> {
    by: &'w ByAccount<'a, T>,
    /// Where the last run found ended.
    next: usize,
}

impl<'w, 'a, T> Walk<'w, 'a, T> {
    /// The items held by `name`, in their original order, as [`ByAccount::get`] gives them.
    pub fn get<'s>(&'s mut self, name: &'s str) -> impl Iterator<Item = &'a T> + 's {
        let by = self.by;
        let found = match by.index {
            // One run per account: the run that starts where the last ended is all of its
            // account's items.
            Index::Runs { .. }
                if by
                    .items
                    .get(self.next)
                    .is_some_and(|t| (by.account)(t) == name) =>
            {
                let len = by.items[self.next..]
                    .iter()
                    .take_while(|t| (by.account)(t) == name)
                    .count();
                Found::Run(Some((self.next, self.next + len)))
            }
            _ => by.locate(name),
        };
        if let Found::Run(Some((_, end))) = found {
            self.next = end;
        }
        by.found(found, name)
    }
}

/// The index of `items` as runs, one per account, when they are laid out so: `None` when an
/// account's items are in two places or two runs' names hash alike (then the caller sorts).
fn runs<T>(items: &[T], account: fn(&T) -> &str) -> Option<Index> {
    u32::try_from(items.len()).ok()?;
    let hasher = RandomState::new();
    let mut runs: Vec<(u64, u32, u32)> = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let name = account(&items[start]);
        let len = items[start..]
            .iter()
            .take_while(|t| account(t) == name)
            .count();
        // Both fit: `items.len()` does.
        runs.push((hasher.hash_one(name), start as u32, len as u32));
        start += len;
    }
    runs.sort_unstable_by_key(|r| r.0);
    if runs.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    runs.shrink_to_fit();
    Some(Index::Runs { hasher, runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name<'a>(t: &'a (&'static str, u32)) -> &'a str {
        t.0
    }

    /// What the lookup must give: every item of `account`, in order.
    fn expected<'a>(
        items: &'a [(&'static str, u32)],
        account: &str,
    ) -> Vec<&'a (&'static str, u32)> {
        items.iter().filter(|t| t.0 == account).collect()
    }

    fn check(items: &[(&'static str, u32)]) {
        let by = ByAccount::new(items, name);
        let mut walk = by.walk();
        for account in ["ann", "ben", "cy", "dee", "nobody", "", "ben", "cy", "ann"] {
            assert_eq!(
                by.get(account).collect::<Vec<_>>(),
                expected(items, account),
                "{account} in {items:?}"
            );
            assert_eq!(
                walk.get(account).collect::<Vec<_>>(),
                expected(items, account),
                "walk to {account} in {items:?}"
            );
        }
    }

    #[test]
    fn items_in_one_run_per_account_are_found_in_order() {
        let items = [
            ("ben", 1),
            ("ben", 2),
            ("ann", 3),
            ("cy", 4),
            ("cy", 5),
            ("cy", 6),
        ];
        check(&items);
        assert!(matches!(
            ByAccount::new(&items, name).index,
            Index::Runs { .. }
        ));
    }

    #[test]
    fn items_of_an_account_in_two_places_are_all_found_in_order() {
        let items = [("ben", 1), ("ann", 2), ("ben", 3), ("cy", 4), ("ann", 5)];
        check(&items);
        assert!(matches!(
            ByAccount::new(&items, name).index,
            Index::Sorted(_)
        ));
    }

    #[test]
    fn no_items_hold_nothing_for_anyone() {
        check(&[]);
    }
}
