//! Per-ID try-locks, as ceph-csi's `VolumeLocks`: a request that finds its volume
//! (or snapshot, or request name) busy is refused at once with ABORTED and the CO
//! retries later.
//!
//! Unlike ceph-csi's explicit `Release`, a lock is a guard released on drop, so a
//! request that fails, panics or ends always frees its ID — ceph-csi users meet
//! volumes stuck in "operation already exists" when a release is missed.
//!
//! A request past its deadline is different: its librados calls cannot be
//! stopped and may still land, so the task doing it runs on (each call is bounded
//! by the connection's op timeouts) and keeps its locks, marked *abandoned*
//! ([`Request::abandon`]); so does work a request hands on after its reply. A later request for the same ID is then not refused:
//! [`Locks::acquire_waiting`] waits, within that request's own deadline, until
//! the abandoned one has finished, so the two never touch Ceph at the same time.
//! Only live requests wait, and only for abandoned ones, which never wait
//! themselves: waits cannot form a cycle.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::error::Error;

/// What the IDs of a [`Locks`] set name, for the ABORTED message ceph-csi sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockKind {
    /// Volume IDs and volume request names.
    Volume,
    /// Snapshot IDs and snapshot request names.
    Snapshot,
}

impl fmt::Display for LockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Volume => "Volume ID",
            Self::Snapshot => "Snapshot ID",
        })
    }
}

tokio::task_local! {
    static CURRENT: Arc<Request>;
}

/// One RPC, as the locks its task takes know it.
#[derive(Debug)]
pub struct Request {
    abandoned: watch::Sender<bool>,
}

impl Request {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            abandoned: watch::Sender::new(false),
        })
    }

    /// Runs `work` as this request: the locks it takes belong to the request.
    pub async fn scope<F: Future>(self: Arc<Self>, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// Marks the request as no longer awaited by its caller (replied, timed out
    /// or cancelled); locks its work still holds are then waited for, not refused.
    pub fn abandon(&self) {
        self.abandoned.send_replace(true);
    }

    pub fn is_abandoned(&self) -> bool {
        *self.abandoned.borrow()
    }

    fn current() -> Option<Arc<Self>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    /// Resolves once the request is abandoned.
    async fn until_abandoned(&self) {
        let mut rx = self.abandoned.subscribe();
        // Err only if the sender is gone, and `self` holds it.
        let _ = rx.wait_for(|abandoned| *abandoned).await;
    }
}

/// Who holds an ID.
#[derive(Debug)]
struct Holder {
    /// None when taken outside any [`Request`] scope: never abandoned.
    request: Option<Arc<Request>>,
    /// Dropped with the holder: waiters see their receivers close.
    released: watch::Sender<()>,
}

impl Holder {
    fn is_abandoned(&self) -> bool {
        self.request.as_ref().is_some_and(|r| r.is_abandoned())
    }
}

/// A set of IDs with an operation in progress. Clones share the set.
#[derive(Debug, Clone)]
pub struct Locks {
    kind: LockKind,
    held: Arc<Mutex<HashMap<String, Holder>>>,
}

impl Locks {
    pub fn new(kind: LockKind) -> Self {
        Self {
            kind,
            held: Arc::default(),
        }
    }

    pub fn kind(&self) -> LockKind {
        self.kind
    }

    /// Takes the lock on `id`, or None if another operation holds it.
    pub fn try_acquire(&self, id: &str) -> Option<LockGuard> {
        let mut set = self.set();
        if set.contains_key(id) {
            tracing::debug!(kind = %self.kind, id, "lock busy");
            return None;
        }
        Some(self.insert(&mut set, id))
    }

    /// Like [`Locks::try_acquire`], with the ABORTED error ceph-csi sends when busy.
    pub fn acquire(&self, id: &str) -> Result<LockGuard, Error> {
        self.try_acquire(id).ok_or_else(|| self.busy(id))
    }

    /// Like [`Locks::acquire`], but when the holder is an abandoned request (past
    /// its deadline, its Ceph calls still running) waits for it to finish instead
    /// of failing. Stops waiting, with ABORTED, if the calling request is
    /// abandoned itself meanwhile.
    pub async fn acquire_waiting(&self, id: &str) -> Result<LockGuard, Error> {
        let me = Request::current();
        loop {
            let mut released = {
                let mut set = self.set();
                match set.get(id) {
                    None => return Ok(self.insert(&mut set, id)),
                    Some(holder) if !holder.is_abandoned() => return Err(self.busy(id)),
                    Some(holder) => holder.released.subscribe(),
                }
            };
            tracing::debug!(kind = %self.kind, id, "waiting for a timed-out request to finish");
            let gave_up = async {
                match &me {
                    Some(me) => me.until_abandoned().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // Only ever Err: nobody sends, the sender drops with the holder.
                _ = released.changed() => {}
                () = gave_up => return Err(self.busy(id)),
            }
        }
    }

    /// Whether an operation on `id` is in progress.
    pub fn is_held(&self, id: &str) -> bool {
        self.set().contains_key(id)
    }

    /// How many IDs are locked.
    pub fn len(&self) -> usize {
        self.set().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, set: &mut HashMap<String, Holder>, id: &str) -> LockGuard {
        set.insert(
            id.to_owned(),
            Holder {
                request: Request::current(),
                released: watch::Sender::new(()),
            },
        );
        LockGuard {
            locks: self.clone(),
            id: id.to_owned(),
        }
    }

    fn busy(&self, id: &str) -> Error {
        Error::OperationInProgress {
            kind: self.kind,
            id: id.to_owned(),
        }
    }

    /// The set, even if a thread panicked while holding the mutex: every critical
    /// section is a single lookup, insert or remove, so the set is never half-updated.
    fn set(&self) -> MutexGuard<'_, HashMap<String, Holder>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn same_set(&self, other: &Locks) -> bool {
        Arc::ptr_eq(&self.held, &other.held)
    }
}

/// The lock on one ID, released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct LockGuard {
    locks: Locks,
    id: String,
}

impl LockGuard {
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Outside the mutex: dropping the holder wakes its waiters.
        let holder = self.locks.set().remove(&self.id);
        drop(holder);
    }
}

/// Locks on several IDs held together, e.g. a snapshot's name and its source volume.
#[must_use = "the locks are released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct MultiLockGuard {
    guards: Vec<LockGuard>,
}

impl MultiLockGuard {
    /// Takes every `(set, id)` lock, or none: if one is busy, those already taken are
    /// released and the error names the busy one. Repeated pairs are taken once.
    /// Try-locks never wait, so the order of `wanted` cannot deadlock.
    pub fn try_acquire<'a>(
        wanted: impl IntoIterator<Item = (&'a Locks, &'a str)>,
    ) -> Result<Self, Error> {
        let mut guards: Vec<LockGuard> = Vec::new();
        for (locks, id) in wanted {
            let taken = guards.iter().any(|g| g.locks.same_set(locks) && g.id == id);
            if !taken {
                // On error `guards` drops here, releasing what was taken.
                guards.push(locks.acquire(id)?);
            }
        }
        Ok(Self { guards })
    }

    /// Like [`MultiLockGuard::try_acquire`], waiting for abandoned holders as
    /// [`Locks::acquire_waiting`] does. Taken in the order given.
    pub async fn acquire_waiting<'a>(
        wanted: impl IntoIterator<Item = (&'a Locks, &'a str)>,
    ) -> Result<Self, Error> {
        let mut guards: Vec<LockGuard> = Vec::new();
        for (locks, id) in wanted {
            let taken = guards.iter().any(|g| g.locks.same_set(locks) && g.id == id);
            if !taken {
                guards.push(locks.acquire_waiting(id).await?);
            }
        }
        Ok(Self { guards })
    }

    /// The locked IDs, in the order they were taken.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.guards.iter().map(LockGuard::id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn second_acquire_fails_until_the_guard_drops() {
        let locks = Locks::new(LockKind::Volume);
        let guard = locks.try_acquire("vol-1").expect("free");
        assert_eq!(guard.id(), "vol-1");
        assert!(locks.try_acquire("vol-1").is_none());
        assert!(locks.is_held("vol-1"));
        let other = locks
            .try_acquire("vol-2")
            .expect("other ids are independent");
        let err = locks.acquire("vol-1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "an operation with the given Volume ID vol-1 already exists"
        );
        drop(guard);
        assert!(!locks.is_held("vol-1"));
        assert!(locks.try_acquire("vol-1").is_some());
        drop(other);
        assert!(locks.is_empty());
    }

    #[test]
    fn clones_share_the_set() {
        let a = Locks::new(LockKind::Snapshot);
        let b = a.clone();
        let _g = a.try_acquire("snap").unwrap();
        assert!(b.try_acquire("snap").is_none());
        let separate = Locks::new(LockKind::Snapshot);
        assert!(separate.try_acquire("snap").is_some());
    }

    #[test]
    fn a_panicking_holder_releases_its_lock() {
        let locks = Locks::new(LockKind::Volume);
        let l = locks.clone();
        let result = std::thread::spawn(move || {
            let _g = l.try_acquire("vol").unwrap();
            panic!("request failed while holding the lock");
        })
        .join();
        assert!(result.is_err());
        assert!(!locks.is_held("vol"));
        assert!(locks.try_acquire("vol").is_some());
    }

    #[test]
    fn poisoned_mutex_still_works() {
        let locks = Locks::new(LockKind::Volume);
        let l = locks.clone();
        let _ = std::thread::spawn(move || {
            let _set = l.held.lock().unwrap();
            panic!("poison");
        })
        .join();
        assert!(locks.held.is_poisoned());
        let g = locks.try_acquire("vol").unwrap();
        assert!(locks.try_acquire("vol").is_none());
        drop(g);
        assert!(locks.is_empty());
    }

    #[test]
    fn exactly_one_of_many_threads_wins() {
        const THREADS: usize = 32;
        for round in 0..20 {
            let locks = Locks::new(LockKind::Volume);
            let start = Arc::new(Barrier::new(THREADS));
            let done = Arc::new(Barrier::new(THREADS));
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (locks, start, done) = (locks.clone(), start.clone(), done.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        let guard = locks.try_acquire("contended");
                        let won = guard.is_some();
                        // Hold until everyone has tried, so a late thread cannot win after
                        // an early winner released.
                        done.wait();
                        won
                    })
                })
                .collect();
            let winners = handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|&won| won)
                .count();
            assert_eq!(winners, 1, "round {round}");
            assert!(locks.is_empty());
        }
    }

    #[tokio::test]
    async fn a_cancelled_request_frees_its_lock() {
        let locks = Locks::new(LockKind::Volume);
        let l = locks.clone();
        let request = async move {
            let _g = l.acquire("vol")?;
            std::future::pending::<()>().await;
            Ok::<_, Error>(())
        };
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(10), request).await;
        assert!(timed_out.is_err());
        assert!(locks.try_acquire("vol").is_some());
    }

    #[test]
    fn multi_guard_takes_all_or_none() {
        let snaps = Locks::new(LockKind::Snapshot);
        let vols = Locks::new(LockKind::Volume);
        let both = MultiLockGuard::try_acquire([(&snaps, "snap-1"), (&vols, "vol-1")]).unwrap();
        assert_eq!(both.ids().collect::<Vec<_>>(), ["snap-1", "vol-1"]);
        assert!(snaps.is_held("snap-1") && vols.is_held("vol-1"));

        // vol-1 busy: snap-2 must not stay locked.
        let err = MultiLockGuard::try_acquire([(&snaps, "snap-2"), (&vols, "vol-1")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an operation with the given Volume ID vol-1 already exists"
        );
        assert!(!snaps.is_held("snap-2"));

        drop(both);
        assert!(snaps.is_empty() && vols.is_empty());

        // The same id in the same set is taken once; in another set it is separate.
        let g = MultiLockGuard::try_acquire([(&vols, "x"), (&vols, "x"), (&snaps, "x")]).unwrap();
        assert_eq!(g.ids().count(), 2);
        drop(g);
        assert!(snaps.is_empty() && vols.is_empty());
    }

    #[tokio::test]
    async fn a_live_holder_is_refused_an_abandoned_one_waited_for() {
        let locks = Locks::new(LockKind::Volume);
        let first = Request::new();
        let (taken, take) = tokio::sync::oneshot::channel();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let l = locks.clone();
        let holder = tokio::spawn(first.clone().scope(async move {
            let _g = l.acquire_waiting("vol").await.unwrap();
            let _ = taken.send(());
            let _ = finished.await;
        }));
        take.await.unwrap();
        // Live: ABORTED at once, as before.
        let err = locks.acquire_waiting("vol").await.unwrap_err();
        assert!(matches!(err, Error::OperationInProgress { .. }), "{err}");

        // Abandoned: the next request waits until the holder's work is done.
        first.abandon();
        let second = Request::new();
        let l = locks.clone();
        let waiter = tokio::spawn(second.scope(async move { l.acquire_waiting("vol").await }));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "waits for the abandoned holder");
        let _ = finish.send(());
        holder.await.unwrap();
        let guard = waiter.await.unwrap().expect("taken once released");
        assert_eq!(guard.id(), "vol");
    }

    #[tokio::test]
    async fn an_abandoned_waiter_stops_waiting() {
        let locks = Locks::new(LockKind::Volume);
        let first = Request::new();
        let _g = first
            .clone()
            .scope(async { locks.acquire("vol") })
            .await
            .unwrap();
        first.abandon();
        let second = Request::new();
        let l = locks.clone();
        let waiter = tokio::spawn(
            second
                .clone()
                .scope(async move { l.acquire_waiting("vol").await.map(|_| ()) }),
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        second.abandon();
        let err = waiter.await.unwrap().unwrap_err();
        assert!(matches!(err, Error::OperationInProgress { .. }), "{err}");
        assert!(locks.is_held("vol"));
    }
}
