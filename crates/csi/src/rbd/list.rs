//! ListVolumes (the journals of every pool tagged for RBD, in pool-id then
//! request-name order) and ValidateVolumeCapabilities.
//!
//! A page token is `<pool id>/<last request name>`: the next page continues in
//! that pool after that name, then in the pools with higher ids. A token for a
//! pool deleted meanwhile continues with the next pool; a token we could not
//! have issued is ABORTED, as the spec asks.

use std::collections::HashMap;

use rookery_csi_proto::v1::list_volumes_response::Entry;
use rookery_csi_proto::v1::validate_volume_capabilities_response::Confirmed;
use rookery_csi_proto::v1::{
    ListVolumesRequest, ListVolumesResponse, ValidateVolumeCapabilitiesRequest,
    ValidateVolumeCapabilitiesResponse, Volume,
};

use super::params::{keys, unsupported};
use super::pools::Pool;
use super::RbdController;
use crate::journal::{JournalEntry, JournalKind};
use crate::request::{RequestError, Result};

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

impl RbdController {
    pub(crate) async fn list(&self, req: ListVolumesRequest) -> Result<ListVolumesResponse> {
        let (found, next_token) = self
            .journal_page(JournalKind::Volume, req.max_entries, &req.starting_token)
            .await?;
        let mut entries = Vec::with_capacity(found.len());
        for (pool, entry) in found {
            let location = entry.image_pool_id.unwrap_or(pool.id);
            entries.push(Entry {
                volume: Some(Volume {
                    volume_id: self.volume_id(location, &entry.uuid)?,
                    volume_context: HashMap::from([
                        (keys::CLUSTER_ID.to_owned(), self.inner.cluster_id.clone()),
                        (keys::POOL.to_owned(), pool.name.clone()),
                    ]),
                    ..Default::default()
                }),
                status: None,
            });
        }
        Ok(ListVolumesResponse {
            entries,
            next_token,
        })
    }

    /// Up to `max_entries` journal entries of `kind` from `starting_token` on, across
    /// the RBD pools, and the token of the next page ("" at the end).
    pub(crate) async fn journal_page(
        &self,
        kind: JournalKind,
        max_entries: i32,
        starting_token: &str,
    ) -> Result<(Vec<(Pool, JournalEntry)>, String)> {
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
        let pools = self.inner.pools.rbd_pools().await?;
        let mut entries = Vec::new();
        let mut next = None;
        'pools: for (i, (pool_id, pool_name)) in pools.iter().enumerate() {
            let mut after = match &start {
                Some(t) if *pool_id < t.pool_id => continue,
                Some(t) if *pool_id == t.pool_id => t.after.clone(),
                _ => String::new(),
            };
            let pool = match self.inner.pools.by_name(pool_name).await {
                Ok(pool) => pool,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            let journal = self.journal(&pool, kind);
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
                entries.extend(page.entries.into_iter().map(|e| (pool.clone(), e)));
                let pool_done = page.next.is_none();
                if entries.len() >= max {
                    if !pool_done || i + 1 < pools.len() {
                        next = Some(Token {
                            pool_id: *pool_id,
                            after: after.clone(),
                        });
                    }
                    break 'pools;
                }
                match page.next {
                    Some(n) => after = n,
                    None => break,
                }
            }
        }
        // `after` is never empty here: a page fills only by adding this pool's entries.
        Ok((entries, next.map(|t| t.encode()).unwrap_or_default()))
    }

    pub(crate) async fn validate(
        &self,
        req: ValidateVolumeCapabilitiesRequest,
    ) -> Result<ValidateVolumeCapabilitiesResponse> {
        if req.volume_id.is_empty() {
            return Err(RequestError::invalid("volume_id", "it is empty"));
        }
        if req.volume_capabilities.is_empty() {
            return Err(RequestError::invalid(
                "volume_capabilities",
                "at least one volume capability is required",
            ));
        }
        self.find_existing(&req.volume_id, JournalKind::Volume)
            .await?;
        let refused: Vec<String> = req
            .volume_capabilities
            .iter()
            .filter_map(unsupported)
            .collect();
        if !refused.is_empty() {
            return Ok(ValidateVolumeCapabilitiesResponse {
                confirmed: None,
                message: refused.join("; "),
            });
        }
        Ok(ValidateVolumeCapabilitiesResponse {
            confirmed: Some(Confirmed {
                volume_context: req.volume_context,
                volume_capabilities: req.volume_capabilities,
                parameters: req.parameters,
                mutable_parameters: req.mutable_parameters,
            }),
            message: String::new(),
        })
    }
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
