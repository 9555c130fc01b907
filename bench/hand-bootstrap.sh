#!/usr/bin/env bash
# Baseline for `rookery bench bringup`: the minimal hand-written bootstrap of
# 1 mon + 1 mgr + N bluestore OSDs on sparse files, OSD mkfs in parallel.
# Uses the stock `ceph` CLI (it is a baseline, not a rookery code path).
# Usage: hand-bootstrap.sh DIR MON_V2_PORT MON_V1_PORT OSDS SIZE_BYTES
# Prints "osds_up_secs=<float>" when all OSDs are up; leaves daemons running
# (pids in DIR/pids) for the caller to stop.
set -euo pipefail
dir=$1 v2=$2 v1=$3 n=$4 size=$5
start=$(date +%s.%N)
mkdir -p "$dir"/{mon,mgr/a,log,run}
fsid=$(cat /proc/sys/kernel/random/uuid)
key() { python3 -c 'import os,struct,time,base64;print(base64.b64encode(struct.pack("<HIIH",1,int(time.time()),0,16)+os.urandom(16)).decode())'; }
cat > "$dir/ceph.conf" <<CONF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$v2,v1:127.0.0.1:$v1]
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
log_file = $dir/log/\$name.log
osd_crush_chooseleaf_type = 0
mon_data = $dir/mon/\$id
[mon]
keyring = $dir/mon/\$id/keyring
[mgr]
mgr_data = $dir/mgr/\$id
keyring = $dir/mgr/\$id/keyring
[osd]
osd_data = $dir/osd/\$id
keyring = $dir/osd/\$id/keyring
bluestore_block_create = true
osd_memory_target = 1073741824
[client.admin]
keyring = $dir/admin.keyring
CONF
admin=$(key)
printf '[mon.]\n\tkey = %s\n\tcaps mon = "allow *"\n[client.admin]\n\tkey = %s\n\tcaps mon = "allow *"\n\tcaps osd = "allow *"\n\tcaps mgr = "allow *"\n\tcaps mds = "allow *"\n' "$(key)" "$admin" > "$dir/bootstrap.keyring"
printf '[client.admin]\n\tkey = %s\n' "$admin" > "$dir/admin.keyring"
C="ceph -c $dir/ceph.conf --connect-timeout 30"
ceph-mon --mkfs -i a -c "$dir/ceph.conf" --keyring "$dir/bootstrap.keyring"
cp "$dir/bootstrap.keyring" "$dir/mon/a/keyring"
ceph-mon -f -i a -c "$dir/ceph.conf" --public-addr 127.0.0.1 >/dev/null 2>&1 & echo $! >> "$dir/pids"
$C auth get-or-create mgr.a mon 'allow profile mgr' osd 'allow *' mds 'allow *' > "$dir/mgr/a/keyring" 2>/dev/null
ceph-mgr -f -i a -c "$dir/ceph.conf" --keyring "$dir/mgr/a/keyring" >/dev/null 2>&1 & echo $! >> "$dir/pids"
for i in $(seq 1 "$n"); do
  (
    uuid=$(cat /proc/sys/kernel/random/uuid); secret=$(key)
    echo "{\"cephx_secret\": \"$secret\"}" > "$dir/run/osd-$uuid.json"
    id=$($C osd new "$uuid" -i "$dir/run/osd-$uuid.json" 2>/dev/null)
    mkdir -p "$dir/osd/$id"
    printf '[osd.%s]\n\tkey = %s\n' "$id" "$secret" > "$dir/osd/$id/keyring"
    ceph-osd -c "$dir/ceph.conf" -i "$id" --mkfs --osd-uuid "$uuid" --bluestore-block-size "$size" >/dev/null 2>&1
    ceph-osd -f -i "$id" -c "$dir/ceph.conf" >/dev/null 2>&1 & echo $! >> "$dir/pids"
  ) &
done
wait_osds() {
  while :; do
    up=$($C osd stat -f json 2>/dev/null | python3 -c 'import json,sys;print(json.load(sys.stdin).get("num_up_osds",0))' || echo 0)
    [ "$up" -ge "$n" ] && return 0
    sleep 0.25
  done
}
wait_osds
end=$(date +%s.%N)
echo "osds_up_secs=$(python3 -c "print(round($end-$start,2))")"
