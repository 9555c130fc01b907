//! Pages of journal entries across locations (RBD pools, CephFS filesystems),
//! for ListVolumes and ListSnapshots.
//!
//! A page token is `<location id>/<last request name>`: the next page continues
//! in that location after that name, then in the locations with higher ids. A
//! token for a location deleted meanwhile continues with the next one; a token
//! we could not have issued is ABORTED, as the spec asks.

use super::{RequestError, Result};
use crate::journal::{JournalEntry, VolumeJournal};

/// Entries per page when the CO sets no maximum.
pub(crate) const DEFAULT_PAGE: usize = 100;

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub pool_id: i64,
    pub after: String,
}

impl Token {
    pub fn encode(&self) -> String {
        debug_assert!(!self.after.is_empty());
        format!("{}/{}", self.pool_id, self.after)
    }

    pub fn decode(token: &str) -> Result<Self> {
        let bad = || {
            RequestError::Aborted(format!(
                "starting_token {token:?} was not issued by this controller; list again \
                 from the start"
            ))
        };
        let (pool, after) = token.split_once('/').ok_or_else(bad)?;
        let pool_id = pool.parse::<i64>().map_err(|_| bad())?;
        if after.is_empty() || pool_id < 0 {
            return Err(bad());
        }
        Ok(Self {
            pool_id,
            after: after.to_owned(),
        })
    }
}

/// Up to `max_entries` journal entries from `starting_token` on, across
/// `locations` (id, what the caller calls it, its journal) in id order, and the
/// token of the next page ("" at the end).
pub(crate) async fn page<L: Clone>(
    locations: &[(i64, L, VolumeJournal)],
    max_entries: i32,
    starting_token: &str,
) -> Result<(Vec<(L, JournalEntry)>, String)> {
    let max = match usize::try_from(max_entries) {
        Ok(0) => DEFAULT_PAGE,
        Ok(n) => n,
        Err(_) => {
            return Err(RequestError::invalid(
                "max_entries",
                format!("{max_entries} is negative"),
            ))
        }
    };
    let start = match starting_token {
        "" => None,
        token => Some(Token::decode(token)?),
    };
    let mut entries = Vec::new();
    let mut next = None;
    'locations: for (i, (id, location, journal)) in locations.iter().enumerate() {
        let mut after = match &start {
            Some(t) if *id < t.pool_id => continue,
            Some(t) if *id == t.pool_id => t.after.clone(),
            _ => String::new(),
        };
        loop {
            let room = max - entries.len();
            let page = match journal.list(&after, room).await {
                Ok(page) => page,
                Err(e) if e.is_not_found() => break,
                Err(e) => return Err(e.into()),
            };
            if let Some(last) = page.entries.last() {
                after = last.request_name.clone();
            }
            entries.extend(page.entries.into_iter().map(|e| (location.clone(), e)));
            let done_here = page.next.is_none();
            if entries.len() >= max {
                if !done_here || i + 1 < locations.len() {
                    next = Some(Token {
                        pool_id: *id,
                        after: after.clone(),
                    });
                }
                break 'locations;
            }
            match page.next {
                Some(n) => after = n,
                None => break,
            }
        }
    }
    // `after` is never empty here: a page fills only by adding this location's entries.
    Ok((entries, next.map(|t| t.encode()).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_ones_abort() {
        let t = Token {
            pool_id: 7,
            after: "pvc/with/slashes".into(),
        };
        assert_eq!(Token::decode(&t.encode()).unwrap(), t);
        for bad in ["", "x", "7", "7/", "-1/a", "a/b", "not a token"] {
            let e = Token::decode(bad).unwrap_err();
            assert_eq!(e.code(), crate::error::CsiCode::Aborted, "{bad}");
        }
    }
}
