//! Ceph operations a plan asks for, typed. The controller runs each through
//! librados with the matching command of `rookery_ceph::commands` (named on
//! each variant); every one is idempotent, so a plan cut short is simply
//! planned and run again.

/// One Ceph operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CephOp {
    /// `mon rm` (`MonRm`): take a replaced or surplus mon out of the monmap.
    MonRemove {
        /// The mon id, e.g. `b`.
        name: String,
    },
    /// `auth get-or-create` (`AuthGetOrCreate`), then store the key in a
    /// Secret of the cluster's namespace (created or updated by the
    /// controller with the key Ceph returns; the plan never sees keys Ceph
    /// makes).
    AuthGetOrCreate {
        /// `mgr.a`, `client.csi-rbd-node`...
        entity: String,
        /// `(daemon type, capability)`, e.g. `("mon", "profile rbd")`.
        caps: Vec<(String, String)>,
        /// Where the key goes.
        secret: KeySecret,
    },
    /// `osd pool create` (`OsdPoolCreate`), replicated, with this CRUSH rule.
    PoolCreate {
        /// The pool.
        pool: String,
        /// Placement groups to start with (the autoscaler adjusts).
        pg_num: u32,
        /// The CRUSH rule (made by [`CephOp::CrushRuleCreate`] first).
        rule: String,
    },
    /// `osd crush rule create-replicated <rule> default <failure domain>`
    /// [<device class>].
    CrushRuleCreate {
        /// `<pool>` as Rook names a pool's rule... see [`crate::plan::pool::rule_name`].
        rule: String,
        /// `host`, `osd`, `zone`...
        failure_domain: String,
        /// `hdd`, `ssd`, `nvme`, or any.
        device_class: Option<String>,
    },
    /// `osd pool set <pool> <var> <value>` (`OsdPoolSet`).
    PoolSet {
        /// The pool.
        pool: String,
        /// `size`, `min_size`, `crush_rule`, or a `spec.parameters` key.
        var: String,
        /// The value, as Ceph takes it.
        value: String,
    },
    /// `osd pool application enable` (`OsdPoolApplicationEnable`).
    PoolApplicationEnable {
        /// The pool.
        pool: String,
        /// `rbd`, `cephfs`...
        application: String,
    },
    /// `osd pool delete <pool> <pool> --yes-i-really-really-mean-it`.
    PoolDelete {
        /// The pool.
        pool: String,
    },
    /// `fs new` (`FsNew`).
    FsNew {
        /// The filesystem.
        fs: String,
        /// Its metadata pool.
        metadata_pool: String,
        /// Its default data pool.
        data_pool: String,
    },
    /// `fs add_data_pool` (`FsAddDataPool`).
    FsAddDataPool {
        /// The filesystem.
        fs: String,
        /// The pool.
        pool: String,
    },
    /// `fs set <fs> <var> <value>` (`FsSet`): `max_mds`, `allow_standby_replay`.
    FsSet {
        /// The filesystem.
        fs: String,
        /// The variable.
        var: String,
        /// Its value.
        value: String,
    },
    /// `mgr module enable` (`MgrModuleEnable`).
    MgrModuleEnable {
        /// The module, e.g. `prometheus`.
        module: String,
    },
    /// `osd out` (`OsdOut`): an OSD whose disk is gone.
    OsdOut {
        /// The OSD id.
        id: u32,
    },
    /// `osd purge` (`OsdPurge`): an OSD whose disk is gone, out, and safe to
    /// remove (`spec.removeOSDsIfOutAndSafeToRemove`).
    OsdPurge {
        /// The OSD id.
        id: u32,
    },
    /// `osd in` (`OsdIn`): its disk is back.
    OsdIn {
        /// The OSD id.
        id: u32,
    },
}

/// The Secret an [`CephOp::AuthGetOrCreate`] writes the key into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySecret {
    /// The Secret's name, e.g. `rook-ceph-mgr-a-keyring`.
    pub name: String,
    /// How the key is written.
    pub format: KeyFormat,
}

/// How a key is written into its Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFormat {
    /// A daemon's keyring file, key `keyring` (`[mgr.a]\n\tkey = ...`).
    Keyring,
    /// ceph-csi's form: the user under `id_field`, the key under `key_field`
    /// (`userID`/`userKey` for rbd, `adminID`/`adminKey` for cephfs).
    Csi {
        /// The user name, without `client.`.
        user: String,
        /// The field holding the user name.
        id_field: String,
        /// The field holding the key.
        key_field: String,
    },
}
