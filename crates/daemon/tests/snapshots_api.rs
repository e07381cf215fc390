//! The snapshot routes of the daemon over its unix socket, against `strand up` and the real
//! driver: status codes, envelopes, operations and their `resources`, JSON shapes (the
//! `vol/snap` name of lists), ETags, PUT/PATCH, rename, delete, restore through the volume's PUT
//! (also while the volume is bound at a caller's path), read-only mounts, snapshots following
//! their volume on LINSTOR, and what a deleted volume takes along. Needs root; skips with the
//! reason printed otherwise.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use support::{Env, Reply};

#[track_caller]
fn ok(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["type"], "sync", "{}", r.body);
}

#[track_caller]
fn error(r: &Reply, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["type"], "error", "{}", r.body);
    let text = r.body["error"].as_str().unwrap_or_default();
    assert!(text.contains(message), "expected \"{message}\" in \"{text}\"");
}

/// A `202` operation answer: waits for it and answers the finished operation.
#[track_caller]
fn finished(env: &Env, r: &Reply) -> Value {
    finished_on(&env.socket, r)
}

/// [`finished`] for an operation of the daemon on `socket`.
#[track_caller]
fn finished_on(socket: &Path, r: &Reply) -> Value {
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["type"], "async", "{}", r.body);
    assert_eq!(r.body["status_code"], 100);
    let url = r.body["operation"].as_str().expect("operation url").to_string();
    assert_eq!(r.header("location"), Some(url.as_str()));
    assert_eq!(r.metadata()["class"], "task");
    let done = support::call(socket, "GET", &format!("{url}/wait?timeout=60"), None, &[]);
    ok(&done);
    done.metadata().clone()
}

#[track_caller]
fn succeeded(env: &Env, r: &Reply) -> Value {
    let op = finished(env, r);
    assert_eq!(op["status"], "Success", "{op}");
    op
}

fn write(dir: &Path, seed: u8) -> Vec<u8> {
    let data: Vec<u8> = (0..(1usize << 20)).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect();
    std::fs::write(dir.join("file.bin"), &data).expect("write");
    std::fs::File::open(dir.join("file.bin")).and_then(|f| f.sync_all()).expect("sync");
    data
}

#[test]
fn snapshot_routes() {
    require_env!();
    let env = Env::start("snapapi");
    let pool = json!({"name": "p1", "driver": "linstor",
                      "config": {"linstor.resource_group.place_count": "1", "volume.size": "32MiB"}});
    assert_eq!(env.call("POST", "/1.0/storage-pools", Some(&pool)).status, 201);
    ok(&env.call("POST", "/1.0/storage-pools/p1/volumes/custom", Some(&json!({"name": "vol1"}))));
    let base = "/1.0/storage-pools/p1/volumes/custom/vol1";
    let snaps = format!("{base}/snapshots");
    let extensions = env.call("GET", "/1.0", None).metadata()["api_extensions"].clone();
    for wanted in
        ["storage_api_volume_snapshots", "custom_volume_snapshot_expiry", "volume_snapshot_scheduling"]
    {
        assert!(extensions.as_array().is_some_and(|a| a.contains(&json!(wanted))), "{wanted}");
    }

    let r = env.call("GET", &snaps, None);
    ok(&r);
    assert_eq!(r.metadata(), &json!([]));

    // Create: 202, resources name the volume and the snapshot; the name from the pattern.
    let r = env.call("POST", &snaps, Some(&json!({"name": "", "expires_at": null})));
    assert_eq!(
        r.metadata()["resources"],
        json!({"storage_volumes": [base], "storage_volume_snapshots": [format!("{snaps}/snap0")]})
    );
    assert_eq!(r.metadata()["description"], "Creating storage volume snapshot");
    let op = succeeded(&env, &r);
    assert_eq!(op["resources"]["storage_volume_snapshots"][0], format!("{snaps}/snap0"));
    error(&env.call("POST", &snaps, Some(&json!({"name": "snap0"}))), 409, "already exists");
    error(&env.call("POST", &snaps, Some(&json!({"name": "bad/name"}))), 400, "Invalid snapshot name");
    error(&env.call("POST", &snaps, Some(&json!({"name": "x", "expires_at": "soon"}))), 400, "expires_at");
    // pylxd's body without a name.
    let r = env.call("POST", &snaps, Some(&json!({"name": null, "expires_at": null})));
    assert_eq!(succeeded(&env, &r)["resources"]["storage_volume_snapshots"][0], format!("{snaps}/snap1"));
    let r = env.call("POST", &snaps, Some(&json!({"name": "s2", "expires_at": "2099-01-01T02:00:00+02:00"})));
    succeeded(&env, &r);
    error(
        &env.call("POST", "/1.0/storage-pools/p1/volumes/custom/nope/snapshots", Some(&json!({}))),
        404,
        "Storage volume not found",
    );

    // Lists: URLs; with recursion, `vol/snap` names and null for no expiry.
    let r = env.call("GET", &snaps, None);
    assert_eq!(
        r.metadata(),
        &json!([format!("{snaps}/snap0"), format!("{snaps}/snap1"), format!("{snaps}/s2")])
    );
    let r = env.call("GET", &format!("{snaps}?recursion=1"), None);
    let list = r.metadata().as_array().cloned().expect("list");
    let names: Vec<&str> = list.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["vol1/snap0", "vol1/snap1", "vol1/s2"]);
    assert_eq!(list[0]["expires_at"], Value::Null);
    assert_eq!(list[2]["expires_at"], "2099-01-01T00:00:00.000000000Z");
    let keys: Vec<&str> = list[0].as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["config", "content_type", "created_at", "description", "expires_at", "name"]);

    // Single: `snap`, zero time, ETag; PUT and PATCH.
    let r = env.call("GET", &format!("{snaps}/snap0"), None);
    ok(&r);
    assert_eq!(r.metadata()["name"], "snap0");
    assert_eq!(r.metadata()["expires_at"], "0001-01-01T00:00:00Z");
    assert_eq!(r.metadata()["config"]["size"], "32MiB");
    assert_eq!(r.metadata()["content_type"], "filesystem");
    let etag = r.etag();
    assert!(!etag.is_empty());
    error(
        &env.call_with(
            "PUT",
            &format!("{snaps}/snap0"),
            Some(&json!({"description": "x"})),
            &[("If-Match", "\"no\"")],
        ),
        412,
        "ETag",
    );
    let r = env.call_with(
        "PUT",
        &format!("{snaps}/snap0"),
        Some(&json!({"description": "before upgrade"})),
        &[("If-Match", &format!("\"{etag}\""))],
    );
    ok(&r);
    assert_eq!(r.metadata(), &json!({}));
    ok(&env.call("PATCH", &format!("{snaps}/snap0"), Some(&json!({"expires_at": "2098-01-01T00:00:00Z"}))));
    let got = env.call("GET", &format!("{snaps}/snap0"), None).metadata().clone();
    assert_eq!(got["description"], "before upgrade");
    assert_eq!(got["expires_at"], "2098-01-01T00:00:00.000000000Z");
    ok(&env.call("PUT", &format!("{snaps}/snap0"), Some(&json!({"description": "d"}))));
    assert_eq!(
        env.call("GET", &format!("{snaps}/snap0"), None).metadata()["expires_at"],
        "0001-01-01T00:00:00Z"
    );
    error(&env.call("GET", &format!("{snaps}/nope"), None), 404, "Storage volume snapshot not found");

    // Rename (async; the old URL in the resources) and delete (async).
    error(&env.call("POST", &format!("{snaps}/snap1"), Some(&json!({"name": "s2"}))), 409, "already exists");
    let r = env.call("POST", &format!("{snaps}/snap1"), Some(&json!({"name": "renamed"})));
    assert_eq!(r.metadata()["resources"], json!({"storage_volume_snapshots": [format!("{snaps}/snap1")]}));
    succeeded(&env, &r);
    error(&env.call("GET", &format!("{snaps}/snap1"), None), 404, "Storage volume snapshot not found");
    ok(&env.call("GET", &format!("{snaps}/renamed"), None));
    let r = env.call("DELETE", &format!("{snaps}/renamed"), None);
    assert_eq!(r.metadata()["resources"], json!({"storage_volume_snapshots": [format!("{snaps}/renamed")]}));
    succeeded(&env, &r);
    error(&env.call("GET", &format!("{snaps}/renamed"), None), 404, "Storage volume snapshot not found");

    // The mappings on LINSTOR follow.
    let linstor = env.linstor();
    let rds = env
        .rt()
        .block_on(linstor.resource_definition_list(
            &linstor_client::ListOpts::new().prop("Aux/Incus/name=incus-volume-default_vol1"),
        ))
        .expect("rds");
    assert_eq!(rds.len(), 1);
    let rd = rds[0].name.clone();
    let mut mapped: Vec<&str> =
        rds[0].props.keys().filter_map(|k| k.strip_prefix("Aux/Incus/SnapshotName/")).collect();
    mapped.sort();
    assert_eq!(mapped, ["s2", "snap0"]);

    // Recovery (by strand up's own daemon, which never saw p1) brings the snapshot rows back,
    // those Incus's driver recorded (its spelling of the mapping) included.
    let legacy = "incus-volume-0123456789abcdef0123456789abcdef";
    let request =
        linstor_api::Snapshot { name: legacy.into(), resource_name: Some(rd.clone()), ..Default::default() };
    env.rt().block_on(linstor.snapshot_create(&rd, &request)).expect("a snapshot made by Incus");
    let by_incus = linstor_api::ResourceDefinitionModify {
        override_props: [("Aux/Incus/snapshot-name/from-incus".to_string(), legacy.to_string())].into(),
        ..Default::default()
    };
    env.rt().block_on(linstor.resource_definition_modify(&rd, &by_incus)).expect("Incus's mapping");
    let r =
        support::call(&env.up_socket, "POST", "/1.0/strand/recover", Some(&json!({"dry_run": false})), &[]);
    ok(&r);
    let r = support::call(&env.up_socket, "GET", &format!("{snaps}?recursion=1"), None, &[]);
    ok(&r);
    let mut recovered: Vec<String> = r
        .metadata()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect();
    recovered.sort();
    assert_eq!(recovered, ["vol1/from-incus", "vol1/s2", "vol1/snap0"]);
    // The snapshot Incus made is deleted like any other (LINSTOR snapshot and mapping).
    let op = finished_on(
        &env.up_socket,
        &support::call(&env.up_socket, "DELETE", &format!("{snaps}/from-incus"), None, &[]),
    );
    assert_eq!(op["status"], "Success", "{op}");
    let props = env.rt().block_on(linstor.resource_definition_get(&rd)).expect("rd").props;
    assert!(!props.contains_key("Aux/Incus/snapshot-name/from-incus"), "{props:?}");

    // Restore through the volume's PUT, the volume bound at a caller's path meanwhile.
    let bound = env.dir.join("bound");
    let r = env.call("POST", &format!("{base}/mount"), Some(&json!({"path": bound})));
    ok(&r);
    let first = write(&bound, 1);
    succeeded(&env, &env.call("POST", &snaps, Some(&json!({"name": "s3"}))));
    write(&bound, 2);
    succeeded(&env, &env.call("POST", &snaps, Some(&json!({"name": "s4"}))));
    let last = write(&bound, 3);
    let etag = env.call("GET", base, None).etag();
    let r = env.call_with(
        "PUT",
        base,
        Some(&json!({"config": null, "description": "", "restore": "s3"})),
        &[("If-Match", &format!("\"{etag}\""))],
    );
    ok(&r);
    assert_eq!(
        std::fs::read(bound.join("file.bin")).expect("read"),
        first,
        "data as at s3, at the bound path"
    );
    assert_ne!(first, last);
    let names: Vec<String> = env
        .call("GET", &format!("{snaps}?recursion=1"), None)
        .metadata()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(names, ["vol1/snap0", "vol1/s2", "vol1/s3", "vol1/s4"], "newer snapshots kept");
    error(
        &env.call("PUT", base, Some(&json!({"restore": "nope"}))),
        404,
        "Storage volume snapshot not found",
    );

    // Read-only access, bound at a path, while the volume stays mounted.
    let ro = env.dir.join("ro");
    let r = env.call("POST", &format!("{snaps}/s4/mount"), Some(&json!({"path": ro})));
    ok(&r);
    assert_eq!(r.metadata()["users"], 1);
    assert_ne!(std::fs::read(ro.join("file.bin")).expect("read"), first, "s4's data");
    assert!(std::fs::write(ro.join("x"), b"x").is_err(), "read-only");
    let op = finished(&env, &env.call("DELETE", &format!("{snaps}/s4"), None));
    assert_eq!(op["status"], "Failure", "{op}");
    assert!(op["err"].as_str().is_some_and(|e| e.contains("unmount it first")), "{op}");
    let r = env.call("POST", &format!("{snaps}/s4/unmount"), Some(&json!({})));
    assert_eq!(r.metadata(), &json!({"status": "unmounted", "users": 0}));
    assert!(!ro.join("file.bin").exists());
    ok(&env.call("POST", &format!("{base}/unmount"), Some(&json!({}))));

    // The full volume lists its snapshots; image volumes have none.
    let full = env.call("GET", &format!("{base}?recursion=1"), None);
    assert!(full.metadata()["snapshots"].as_array().is_some_and(|s| !s.is_empty()), "{}", full.body);
    error(
        &env.call("GET", "/1.0/storage-pools/p1/volumes/image/abc/snapshots", None),
        400,
        "have no snapshots",
    );

    // Deleting the volume deletes its snapshots first, on LINSTOR too.
    ok(&env.call("DELETE", base, None));
    assert!(env.rt().block_on(linstor.resource_definition_get(&rd)).is_err_and(|e| e.is_not_found()));
    error(&env.call("GET", &snaps, None), 404, "Storage volume not found");
}
