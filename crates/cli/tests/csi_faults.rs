//! The RBD controller when Ceph stops answering, on a private 1-OSD cluster whose
//! daemons are frozen with SIGSTOP mid-request (the supervisor does not restart a
//! stopped process; a guard sends SIGCONT even when an assertion fails):
//!
//! - the request ends with DEADLINE_EXCEEDED or UNAVAILABLE within its deadline
//!   and a little slack;
//! - a second request for the same name or ID right after is never ABORTED: the
//!   first one's lock does not outlive it as a refusal (the second waits for the
//!   first's Ceph calls, then times out itself);
//! - after SIGCONT a retry succeeds, and the calls the timed-out requests left
//!   running, which land now, change nothing: one image and one journal entry
//!   per name (none after a delete), no journal object without its key.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::csi::{create_request, ServedController};
use common::TestCluster;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rookery_ceph::rbd;
use rookery_ceph::{IoCtx, Rados};
use rookery_csi::error::CsiCode;
use rookery_csi::grpc::code_to_tonic;
use rookery_csi::grpc::proto::v1::{
    CreateVolumeRequest, CreateVolumeResponse, DeleteVolumeRequest, DeleteVolumeResponse,
};
use rookery_csi::rbd::{ControllerClient, RbdController};
use rookery_csi::volume_id::VolumeId;

const POOL: &str = "rbd";
const MIB: u64 = 1 << 20;
/// The controller's deadline per RPC.
const DEADLINE: Duration = Duration::from_secs(2);
/// Deadline plus slack for gRPC and a loaded machine.
const BOUND: Duration = Duration::from_secs(10);
/// How long retries after SIGCONT may take to succeed.
const RECOVERY: Duration = Duration::from_secs(90);

/// Daemons stopped with SIGSTOP until dropped.
struct Frozen {
    daemons: Vec<(String, Pid)>,
}

impl Frozen {
    /// Stops every daemon whose name starts with `prefix` (`osd.`, `mon.`).
    fn stop(cluster: &TestCluster, prefix: &str) -> Self {
        let mut frozen = Self {
            daemons: Vec::new(),
        };
        for d in cluster.daemons() {
            let name = d["name"].as_str().unwrap_or_default().to_owned();
            let Some(pid) = d["pid"].as_u64() else {
                continue;
            };
            if name.starts_with(prefix) {
                let pid = Pid::from_raw(pid as i32);
                kill(pid, Signal::SIGSTOP).unwrap_or_else(|e| panic!("SIGSTOP {name}: {e}"));
                frozen.daemons.push((name, pid));
            }
        }
        assert!(!frozen.daemons.is_empty(), "no {prefix}* daemon to freeze");
        frozen
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for (name, pid) in &self.daemons {
            if let Err(e) = kill(*pid, Signal::SIGCONT) {
                eprintln!("SIGCONT {name}: {e}");
            }
        }
    }
}

type Reply<T> = Result<tonic::Response<T>, tonic::Status>;

fn create(
    client: &ControllerClient,
    req: &CreateVolumeRequest,
) -> impl std::future::Future<Output = Reply<CreateVolumeResponse>> + Send {
    let (mut client, req) = (client.clone(), req.clone());
    async move { client.create_volume(req).await }
}

fn delete(
    client: &ControllerClient,
    volume_id: &str,
) -> impl std::future::Future<Output = Reply<DeleteVolumeResponse>> + Send {
    let mut client = client.clone();
    let req = DeleteVolumeRequest {
        volume_id: volume_id.to_owned(),
        ..Default::default()
    };
    async move { client.delete_volume(req).await }
}

/// Asserts that a call made while Ceph is frozen fails in bounded time with a
/// code that tells the CO to retry, never ABORTED.
async fn times_out<T: std::fmt::Debug>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, tonic::Status>>,
) {
    let started = Instant::now();
    let result = tokio::time::timeout(BOUND * 2, call)
        .await
        .unwrap_or_else(|_| panic!("{what} hung past {:?}", BOUND * 2));
    let elapsed = started.elapsed();
    let st = result.expect_err(&format!("{what} should fail while Ceph is frozen"));
    assert_retryable(what, &st);
    assert!(elapsed < BOUND, "{what} took {elapsed:?}");
}

fn assert_retryable(what: &str, st: &tonic::Status) {
    let retryable = [
        code_to_tonic(CsiCode::DeadlineExceeded),
        code_to_tonic(CsiCode::Unavailable),
    ];
    assert!(
        retryable.contains(&st.code()),
        "{what}: {:?} {}",
        st.code(),
        st.message()
    );
}

/// Retries `call` until it succeeds; no attempt may be ABORTED.
async fn retry<T, Fut>(what: &str, mut call: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let started = Instant::now();
    loop {
        match call().await {
            Ok(reply) => return reply.into_inner(),
            Err(st) => {
                assert_ne!(
                    st.code(),
                    code_to_tonic(CsiCode::Aborted),
                    "{what}: the lock outlived the timed-out request: {}",
                    st.message()
                );
                assert!(
                    started.elapsed() < RECOVERY,
                    "{what} still failing after {RECOVERY:?}: {:?} {}",
                    st.code(),
                    st.message()
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// What the pool holds: images, directory entries, per-volume objects, trash.
#[derive(Debug, PartialEq, Eq)]
struct PoolState {
    images: Vec<String>,
    /// Request name -> uuid.
    directory: BTreeMap<String, String>,
    /// uuid -> its `csi.imageid`, for every `csi.volume.<uuid>` object.
    objects: BTreeMap<String, Option<String>>,
}

async fn pool_state(cluster: &TestCluster, io: &IoCtx) -> PoolState {
    let mut images: Vec<String> = rbd::list(io)
        .await
        .expect("rbd list")
        .into_iter()
        .map(|i| i.name)
        .collect();
    images.sort();
    let directory = match io.omap_list("csi.volumes.default", "", 1000).await {
        Ok((entries, _)) => entries
            .into_iter()
            .map(|(k, v)| {
                let name = k
                    .strip_prefix("csi.volume.")
                    .expect("key prefix")
                    .to_owned();
                (name, String::from_utf8(v).expect("utf-8 uuid"))
            })
            .collect(),
        Err(e) if e.is_not_found() => BTreeMap::new(),
        Err(e) => panic!("directory: {e}"),
    };
    let mut objects = BTreeMap::new();
    for object in rados_ls(cluster) {
        let Some(uuid) = object.strip_prefix("csi.volume.") else {
            continue;
        };
        let attrs = io
            .omap_get(&object, &["csi.imageid"])
            .await
            .expect("read a per-volume object");
        let id = attrs
            .get("csi.imageid")
            .map(|v| String::from_utf8_lossy(v).into_owned());
        objects.insert(uuid.to_owned(), id);
    }
    PoolState {
        images,
        directory,
        objects,
    }
}

/// Every object in the pool, by the `rados` tool (librados in this crate has no
/// object listing).
fn rados_ls(cluster: &TestCluster) -> Vec<String> {
    let o = std::process::Command::new("rados")
        .args(["-c", cluster.conf().to_str().expect("utf-8")])
        .args(["-k", cluster.keyring().to_str().expect("utf-8")])
        .args(["-p", POOL, "ls"])
        .output()
        .expect("run rados ls");
    assert!(o.status.success(), "rados ls: {}", common::text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Asserts that `names` (and only they) are volumes, each complete: one image,
/// its directory key, its object with the image's id; no other journal objects.
async fn assert_volumes(cluster: &TestCluster, io: &IoCtx, names: &[String]) {
    let state = pool_state(cluster, io).await;
    let listed: Vec<&str> = state.directory.keys().map(String::as_str).collect();
    let mut wanted: Vec<&str> = names.iter().map(String::as_str).collect();
    wanted.sort();
    assert_eq!(listed, wanted, "{state:#?}");
    assert_eq!(state.images.len(), names.len(), "{state:#?}");
    assert_eq!(state.objects.len(), names.len(), "{state:#?}");
    for uuid in state.directory.values() {
        let image = format!("csi-vol-{uuid}");
        assert!(state.images.contains(&image), "{image}: {state:#?}");
        let id = rbd::info(io, &image).await.expect("rbd info").id;
        assert_eq!(state.objects.get(uuid), Some(&Some(id)), "{state:#?}");
    }
}

struct Env {
    cluster: TestCluster,
    rados: Rados,
    io: IoCtx,
}

impl Env {
    fn fsid(&self) -> String {
        self.rados.fsid().to_owned()
    }

    /// A controller with the short deadline (and its own pool cache), served.
    async fn controller(&self) -> (RbdController, ServedController) {
        let ctl = RbdController::new(self.fsid(), self.rados.clone()).with_deadline(DEADLINE);
        let served = ServedController::start(&ctl).await;
        (ctl, served)
    }

    async fn settle(&self) {
        // Calls left running by timed-out requests land once the daemons run again.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// When, after sending a request, the OSDs are frozen: different points of it.
const FREEZE_AFTER_MS: [u64; 4] = [0, 5, 12, 25];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn frozen_daemons_end_requests_and_free_their_locks() {
    let cluster = TestCluster::private("csi-faults");
    let rados = cluster.rados().await;
    let io = rados.ioctx(POOL, None).await.expect("ioctx");
    let env = Env { cluster, rados, io };
    let fsid = env.fsid();
    let (ctl, served) = env.controller().await;
    let client = served.client.clone();

    // Warm the pool cache and the OSD session.
    let warm = retry("warm-up CreateVolume", || {
        create(&client, &create_request("pvc-warm", MIB, &fsid, POOL))
    })
    .await
    .volume
    .expect("a volume");
    let mut names = vec!["pvc-warm".to_owned()];
    assert_volumes(&env.cluster, &env.io, &names).await;

    for ms in FREEZE_AFTER_MS {
        let name = format!("pvc-osd-{ms}");
        osds_frozen_during_create(&env, &client, &name, ms).await;
        names.push(name);
        assert_volumes(&env.cluster, &env.io, &names).await;
    }
    for ms in FREEZE_AFTER_MS {
        osds_frozen_during_delete(&env, &client, &ctl, ms).await;
        assert_volumes(&env.cluster, &env.io, &names).await;
    }

    mon_frozen(&env, &warm.volume_id).await;
    names.retain(|n| n != "pvc-warm");
    names.push("pvc-mon".into());
    assert_volumes(&env.cluster, &env.io, &names).await;

    served.stop().await;
}

/// Sends `call`, freezes the OSDs `after_ms` later; the call either finished
/// before or fails in bounded time. A second call right after fails the same
/// way, never ABORTED. The daemons run again once the returned guard drops.
async fn freeze_during<T: std::fmt::Debug + Send + 'static, Fut>(
    env: &Env,
    what: &str,
    after_ms: u64,
    call: impl Fn() -> Fut,
) -> Frozen
where
    Fut: std::future::Future<Output = Reply<T>> + Send + 'static,
{
    let started = Instant::now();
    let first = tokio::spawn(call());
    tokio::time::sleep(Duration::from_millis(after_ms)).await;
    let frozen = Frozen::stop(&env.cluster, "osd.");
    match first.await.expect("request task") {
        Ok(_) => {}
        Err(st) => assert_retryable(what, &st),
    }
    assert!(
        started.elapsed() < BOUND,
        "{what} took {:?}",
        started.elapsed()
    );
    times_out(&format!("{what} again"), call()).await;
    frozen
}

/// CreateVolume with the OSDs frozen part-way.
async fn osds_frozen_during_create(env: &Env, client: &ControllerClient, name: &str, ms: u64) {
    let req = create_request(name, MIB, &env.fsid(), POOL);
    let what = format!("CreateVolume, OSDs frozen after {ms} ms");
    drop(freeze_during(env, &what, ms, || create(client, &req)).await);
    let vol = retry("CreateVolume after SIGCONT", || create(client, &req))
        .await
        .volume
        .expect("a volume");
    env.settle().await;
    let again = retry("CreateVolume once settled", || create(client, &req))
        .await
        .volume
        .expect("a volume");
    assert_eq!(again.volume_id, vol.volume_id, "one volume for {name}");
}

/// DeleteVolume with the OSDs frozen part-way: afterwards the volume is gone
/// entirely, its trash entry purged.
async fn osds_frozen_during_delete(
    env: &Env,
    client: &ControllerClient,
    ctl: &RbdController,
    ms: u64,
) {
    let req = create_request(&format!("pvc-del-{ms}"), MIB, &env.fsid(), POOL);
    let vol = retry("CreateVolume", || create(client, &req))
        .await
        .volume
        .expect("a volume");
    let uuid = VolumeId::decode(&vol.volume_id)
        .expect("volume ID")
        .object_uuid;
    let what = format!("DeleteVolume, OSDs frozen after {ms} ms");
    drop(freeze_during(env, &what, ms, || delete(client, &vol.volume_id)).await);
    retry("DeleteVolume after SIGCONT", || {
        delete(client, &vol.volume_id)
    })
    .await;
    env.settle().await;
    retry("DeleteVolume once settled", || {
        delete(client, &vol.volume_id)
    })
    .await;
    let purges = ctl.wait_for_purges().await;
    assert!(
        purges.iter().all(|p| p.error.is_none()),
        "purges: {purges:?}"
    );
    let image = format!("csi-vol-{uuid}");
    assert!(
        purges.iter().any(|p| p.image == image),
        "{image} purged: {purges:?}"
    );
    let trash = rbd::trash_list(&env.io).await.expect("trash list");
    assert!(trash.is_empty(), "trash: {trash:?}");
}

/// The mon frozen: a fresh controller (no pool cache) needs it to resolve a
/// volume ID's pool, so DeleteVolume hangs; CreateVolume may or may not need it.
async fn mon_frozen(env: &Env, warm_id: &str) {
    let fsid = env.fsid();
    let (ctl, served) = env.controller().await;
    let client = served.client.clone();
    let req = create_request("pvc-mon", MIB, &fsid, POOL);
    {
        let _frozen = Frozen::stop(&env.cluster, "mon.");
        times_out("DeleteVolume, mon frozen", delete(&client, warm_id)).await;
        times_out("DeleteVolume again, mon frozen", delete(&client, warm_id)).await;
        let started = Instant::now();
        if let Err(st) = create(&client, &req).await {
            assert_retryable("CreateVolume, mon frozen", &st);
        }
        assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
    }
    retry("DeleteVolume after SIGCONT", || delete(&client, warm_id)).await;
    retry("CreateVolume after SIGCONT", || create(&client, &req)).await;
    env.settle().await;
    let purges = ctl.wait_for_purges().await;
    assert!(purges.iter().all(|p| p.error.is_none()), "{purges:?}");
    assert!(rbd::trash_list(&env.io).await.expect("trash").is_empty());
    served.stop().await;
}
