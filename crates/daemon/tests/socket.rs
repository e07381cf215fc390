//! The storage daemon over its unix socket, against `strand up` and the real driver: the
//! envelope, status codes, messages and JSON fields of every route (as the Incus REST API
//! reference gives them), the events websocket and operations, and that failures leave nothing
//! behind. Needs root (loop devices, mkfs, mount); skips with the reason printed otherwise.

mod support;

use linstor_client::ListOpts;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Env, Reply};

const KEYS: [&str; 7] = ["type", "status", "status_code", "operation", "error_code", "error", "metadata"];

#[track_caller]
fn envelope(r: &Reply) {
    let object = r.body.as_object().unwrap_or_else(|| panic!("not an object: {}", r.body));
    assert_eq!(object.len(), 7, "{}", r.body);
    for key in KEYS {
        assert!(object.contains_key(key), "{key} missing: {}", r.body);
    }
    assert_eq!(r.header("content-type"), Some("application/json"), "{:?}", r.headers);
}

#[track_caller]
fn sync(r: &Reply, status: u16) {
    envelope(r);
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["type"], "sync");
    assert_eq!(r.body["status"], "Success");
    assert_eq!(r.body["status_code"], 200);
    assert_eq!(r.body["operation"], "");
    assert_eq!(r.body["error_code"], 0);
    assert_eq!(r.body["error"], "");
}

#[track_caller]
fn ok(r: &Reply) {
    sync(r, 200);
}

#[track_caller]
fn error(r: &Reply, status: u16, message: &str) {
    envelope(r);
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["type"], "error");
    assert_eq!(r.body["status"], "");
    assert_eq!(r.body["status_code"], 0);
    assert_eq!(r.body["error_code"], status);
    assert_eq!(r.body["metadata"], Value::Null);
    let text = r.body["error"].as_str().unwrap_or_default();
    assert!(text.contains(message), "expected \"{message}\" in \"{text}\"");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
}

#[track_caller]
fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// What a websocket listener on `/1.0/events` received.
#[derive(Debug, Clone)]
enum Got {
    Event(Value),
    Ping,
}

struct Listener {
    got: Arc<Mutex<Vec<Got>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    since: Instant,
}

impl Listener {
    fn start(socket: &std::path::Path, query: &str) -> Listener {
        let stream = std::os::unix::net::UnixStream::connect(socket).expect("connect");
        let (mut ws, response) =
            tungstenite::client::client(format!("ws://unix.socket/1.0/events{query}"), stream)
                .expect("websocket");
        assert_eq!(response.status().as_u16(), 101);
        ws.get_ref().set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (got, stop) = (Arc::clone(&got), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match ws.read() {
                        Ok(tungstenite::Message::Text(text)) => {
                            let value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                            got.lock().unwrap().push(Got::Event(value));
                        }
                        Ok(tungstenite::Message::Ping(_)) => got.lock().unwrap().push(Got::Ping),
                        Ok(tungstenite::Message::Close(_)) => break,
                        Ok(_) => {}
                        Err(tungstenite::Error::Io(err))
                            if matches!(
                                err.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => break,
                    }
                }
            })
        };
        Listener { got, stop, thread: Some(thread), since: Instant::now() }
    }

    fn events(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter_map(|g| match g {
                Got::Event(v) => Some(v.clone()),
                Got::Ping => None,
            })
            .collect()
    }

    fn pings(&self) -> usize {
        self.got.lock().unwrap().iter().filter(|g| matches!(g, Got::Ping)).count()
    }

    /// Waits until an event matching `pred` arrived.
    fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(found) = self.events().into_iter().find(|e| pred(e)) {
                return found;
            }
            assert!(Instant::now() < deadline, "no {what} event among {:?}", self.events());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn lifecycle(&self, action: &str) -> Value {
        self.wait_for(action, |e| e["type"] == "lifecycle" && e["metadata"]["action"] == action)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn check_server(env: &Env) {
    let r = env.call("GET", "/", None);
    ok(&r);
    assert_eq!(r.metadata(), &json!(["/1.0"]));

    let r = env.call("GET", "/1.0", None);
    ok(&r);
    let etag = r.etag();
    assert_eq!(etag.len(), 64, "{:?}", r.headers);
    assert!(r.header("etag").unwrap().starts_with('"'));
    let m = r.metadata();
    for key in [
        "config",
        "api_extensions",
        "api_status",
        "api_version",
        "auth",
        "public",
        "auth_methods",
        "auth_user_name",
        "auth_user_method",
        "environment",
    ] {
        assert!(m.get(key).is_some(), "{key} missing from GET /1.0");
    }
    let extensions: Vec<&str> =
        m["api_extensions"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for wanted in [
        "etag",
        "patch",
        "storage",
        "resources",
        "storage_volume_state",
        "storage_api_volume_rename",
        "storage_api_local_volume_handling",
        "custom_volume_backup",
    ] {
        assert!(extensions.contains(&wanted), "{wanted} not advertised");
    }
    // Not implemented yet, so not advertised.
    for absent in ["direct_backup", "storage_volume_project_move"] {
        assert!(!extensions.contains(&absent), "{absent} advertised");
    }
    assert_eq!(m["api_status"], "stable");
    assert_eq!(m["api_version"], "1.0");
    assert_eq!(m["auth"], "trusted");
    assert_eq!(m["public"], false);
    assert_eq!(m["auth_methods"], json!(["tls"]));
    assert_eq!(m["auth_user_name"], "root");
    assert_eq!(m["auth_user_method"], "unix");
    let environment = &m["environment"];
    assert_eq!(environment["storage"], "linstor");
    assert_eq!(environment["server_clustered"], false);
    assert_eq!(environment["project"], "default");
    assert_ne!(environment["server"], "incus-agent");
    assert_eq!(environment["storage_supported_drivers"][0]["Name"], "linstor");
    assert_eq!(environment["storage_supported_drivers"][0]["Remote"], true);
    assert_eq!(m["config"]["storage.linstor.controller_connection"], env.controller_url.as_str());
    assert_eq!(m["config"]["storage.linstor.satellite.name"], env.node.as_str());
    assert_eq!(env.call("GET", "/1.0?project=p2", None).metadata()["environment"]["project"], "p2");

    // Server keys: merge, replace, ETags, validation naming the key.
    let r = env.call("PATCH", "/1.0", Some(&json!({"config": {"user.note": "hello"}})));
    ok(&r);
    assert_eq!(r.metadata(), &json!({}));
    let r = env.call("GET", "/1.0", None);
    assert_eq!(r.metadata()["config"]["user.note"], "hello");
    assert_ne!(r.etag(), etag);
    let stale =
        env.call_with("PUT", "/1.0", Some(&json!({"config": {}})), &[("If-Match", &format!("\"{etag}\""))]);
    error(&stale, 412, "ETag doesn't match");
    let mut config = r.metadata()["config"].clone();
    config.as_object_mut().unwrap().remove("user.note");
    let put = env.call_with("PUT", "/1.0", Some(&json!({ "config": config })), &[("If-Match", &r.etag())]);
    ok(&put);
    assert!(env.call("GET", "/1.0", None).metadata()["config"].get("user.note").is_none());

    let bad = [
        (json!({"core.https_address": ":8443"}), 400, "core.https_address"),
        (
            json!({"storage.linstor.controller_connection": "http://[::1"}),
            400,
            "storage.linstor.controller_connection",
        ),
        (json!({"storage.linstor.satellite.name": "bad name!"}), 400, "storage.linstor.satellite.name"),
        (
            json!({"storage.linstor.client_cert": "-----BEGIN CERTIFICATE-----"}),
            400,
            "storage.linstor.client_key",
        ),
        (json!({"storage.linstor.ca_cert": "not a certificate"}), 400, "storage.linstor.ca_cert"),
    ];
    for (config, status, message) in bad {
        error(&env.call("PATCH", "/1.0", Some(&json!({ "config": config }))), status, message);
    }
    // A controller that does not answer: refused, and nothing changes.
    let dead = format!(
        "http://127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    );
    let r =
        env.call("PATCH", "/1.0", Some(&json!({"config": {"storage.linstor.controller_connection": dead}})));
    error(&r, 503, "Failed to connect to LINSTOR");
    let config = env.call("GET", "/1.0", None).metadata()["config"].clone();
    assert_eq!(config["storage.linstor.controller_connection"], env.controller_url.as_str());
    // Several controllers, the dead one first: failover reaches the live one.
    let both = format!("{dead},{}", env.controller_url);
    ok(&env.call("PATCH", "/1.0", Some(&json!({"config": {"storage.linstor.controller_connection": both}}))));
    assert_eq!(
        env.call("GET", "/1.0", None).metadata()["config"]["storage.linstor.controller_connection"],
        both.as_str()
    );
    assert!(!env.call("GET", "/1.0", None).metadata()["environment"]["storage_version"]
        .as_str()
        .unwrap()
        .is_empty());

    // The framework's own errors are envelopes too.
    error(&env.call("GET", "/1.0/nothing-here", None), 404, "not found");
    error(&env.call("DELETE", "/1.0", None), 501, "not implemented");
    error(&env.call("PATCH", "/1.0", Some(&json!({"config": {"user.x": 1}}))), 400, "Invalid request body");
    let raw = support::try_call(&env.socket, "PATCH", "/1.0", None, &[("Content-Type", "application/json")])
        .unwrap();
    ok(&raw);
}

fn check_pools(env: &Env, listener: &Listener) {
    let r = env.call("GET", "/1.0/storage-pools", None);
    ok(&r);
    assert_eq!(r.metadata(), &json!([]));
    error(
        &env.call("POST", "/1.0/storage-pools", Some(&json!({"driver": "linstor"}))),
        400,
        "No name provided",
    );
    error(&env.call("POST", "/1.0/storage-pools", Some(&json!({"name": "p1"}))), 400, "No driver provided");
    error(&env.call("POST", "/1.0/storage-pools", Some(&json!({"name": "p1", "driver": "zfs"}))), 400, "zfs");
    error(
        &env.call("POST", "/1.0/storage-pools", Some(&json!({"name": "bad/name", "driver": "linstor"}))),
        400,
        "name",
    );
    for (key, value) in [
        ("lvm.vg_name", "vg0"),
        ("drbd.on_no_quorum", "bla"),
        ("drbd.auto_diskful", "1s"),
        ("linstor.volume.prefix", "a-prefix-that-is-far-too-long-"),
        ("linstor.resource_group.place_count", "many"),
    ] {
        let body = json!({"name": "p1", "driver": "linstor", "config": {key: value}});
        error(&env.call("POST", "/1.0/storage-pools", Some(&body)), 400, key);
    }
    // None of the refusals left anything, here or on LINSTOR.
    assert_eq!(env.call("GET", "/1.0/storage-pools", None).metadata(), &json!([]));
    let linstor = env.linstor();
    let missing = env.rt().block_on(linstor.resource_group_get("p1"));
    assert!(missing.is_err_and(|e| e.is_not_found()));

    let body = json!({"name": "p1", "driver": "linstor", "description": "first",
                      "config": {"linstor.resource_group.place_count": "1"}});
    let r = env.call("POST", "/1.0/storage-pools", Some(&body));
    sync(&r, 201);
    assert_eq!(r.header("location"), Some("/1.0/storage-pools/p1"));
    assert_eq!(r.metadata(), &Value::Null);
    let event = listener.lifecycle("storage-pool-created");
    assert_eq!(event["metadata"]["source"], "/1.0/storage-pools/p1");
    assert_eq!(event["metadata"]["requestor"]["protocol"], "unix");
    assert_eq!(event["location"], "none");
    error(&env.call("POST", "/1.0/storage-pools", Some(&body)), 409, "The storage pool already exists");
    let rg = env.rt().block_on(linstor.resource_group_get("p1")).expect("resource group p1");
    assert_eq!(rg.select_filter.and_then(|f| f.place_count), Some(1));

    let r = env.call("GET", "/1.0/storage-pools/p1", None);
    ok(&r);
    let pool = r.metadata().clone();
    assert_eq!(
        keys(&pool),
        set(&["config", "description", "name", "driver", "used_by", "status", "locations"])
    );
    assert_eq!(pool["name"], "p1");
    assert_eq!(pool["driver"], "linstor");
    assert_eq!(pool["description"], "first");
    assert_eq!(pool["status"], "Created");
    assert_eq!(pool["used_by"], json!([]));
    assert_eq!(pool["locations"], json!(["none"]));
    assert_eq!(pool["config"]["linstor.resource_group.name"], "p1");
    assert_eq!(pool["config"]["linstor.resource_group.place_count"], "1");
    assert_eq!(pool["config"]["volatile.pool.pristine"], "true");
    assert!(pool["config"].as_object().unwrap().values().all(Value::is_string));
    let etag = r.etag();
    assert_eq!(etag.len(), 64);

    ok(&env.call("GET", "/1.0/storage-pools", None));
    assert_eq!(env.call("GET", "/1.0/storage-pools", None).metadata(), &json!(["/1.0/storage-pools/p1"]));
    let listed = env.call("GET", "/1.0/storage-pools?recursion=1", None);
    assert_eq!(listed.metadata()[0]["name"], "p1");
    assert_eq!(
        env.call("GET", "/1.0/storage-pools?filter=&recursion=1", None).metadata().as_array().unwrap().len(),
        1
    );
    assert_eq!(
        env.call("GET", "/1.0/storage-pools?filter=name+eq+zz&recursion=1", None).metadata(),
        &json!([])
    );
    assert_eq!(
        env.call("GET", "/1.0/storage-pools?filter=driver+eq+linstor", None).metadata(),
        &json!(["/1.0/storage-pools/p1"])
    );
    error(&env.call("GET", "/1.0/storage-pools?filter=name+gt+x", None), 400, "Invalid filter");

    // PUT with a stale ETag, then with the right one; PATCH merges; nothing answers 201.
    let mut config = pool["config"].clone();
    config["user.team"] = json!("storage");
    let stale = env.call_with(
        "PUT",
        "/1.0/storage-pools/p1",
        Some(&json!({"config": config, "description": "x"})),
        &[("If-Match", "\"0000\"")],
    );
    error(&stale, 412, "ETag doesn't match");
    let put = env.call_with(
        "PUT",
        "/1.0/storage-pools/p1",
        Some(&json!({"config": config, "description": "second"})),
        &[("If-Match", &format!("\"{etag}\""))],
    );
    ok(&put);
    assert_eq!(put.metadata(), &json!({}));
    listener.lifecycle("storage-pool-updated");
    let patch = env.call(
        "PATCH",
        "/1.0/storage-pools/p1",
        Some(&json!({"config": {"drbd.on_no_quorum": "io-error"}})),
    );
    ok(&patch);
    let pool = env.call("GET", "/1.0/storage-pools/p1", None).metadata().clone();
    assert_eq!(pool["description"], "second");
    assert_eq!(pool["config"]["user.team"], "storage");
    assert_eq!(pool["config"]["drbd.on_no_quorum"], "io-error");
    let rg = env.rt().block_on(linstor.resource_group_get("p1")).expect("resource group p1");
    assert_eq!(rg.props.get("DrbdOptions/Resource/on-no-quorum").map(String::as_str), Some("io-error"));
    let r = env.call(
        "PATCH",
        "/1.0/storage-pools/p1",
        Some(&json!({"config": {"linstor.volume.prefix": "other-"}})),
    );
    error(&r, 400, "linstor.volume.prefix");
    let r = env.call("PATCH", "/1.0/storage-pools/p1", Some(&json!({"config": {"drbd.auto_diskful": "1s"}})));
    error(&r, 400, "drbd.auto_diskful");
    assert_eq!(env.call("GET", "/1.0/storage-pools/p1", None).metadata()["config"], pool["config"]);

    let r = env.call("GET", "/1.0/storage-pools/p1/resources", None);
    ok(&r);
    assert!(r.metadata()["space"]["total"].as_u64().unwrap() > 0, "{}", r.body);
    assert!(r.metadata()["inodes"].get("total").is_some());

    error(&env.call("GET", "/1.0/storage-pools/nope", None), 404, "Storage pool not found");
    error(&env.call("GET", "/1.0/storage-pools/nope/resources", None), 404, "Storage pool not found");
    error(&env.call("DELETE", "/1.0/storage-pools/nope", None), 404, "Storage pool not found");
    error(&env.call("PUT", "/1.0/storage-pools/nope", Some(&json!({}))), 404, "Storage pool not found");
    error(&env.call("GET", "/1.0/storage-pools/p1?target=elsewhere", None), 400, "elsewhere");
    ok(&env.call("GET", "/1.0/storage-pools/p1?target=none", None));
}

/// The resource definitions of LINSTOR with `Aux/Incus/name` = `aux`.
fn rds_named(env: &Env, aux: &str) -> Vec<linstor_api::ResourceDefinition> {
    let all = env.rt().block_on(env.linstor().resource_definition_list(&ListOpts::new())).expect("RD list");
    all.into_iter().filter(|rd| rd.props.get("Aux/Incus/name").map(String::as_str) == Some(aux)).collect()
}

fn check_volumes(env: &Env, listener: &Listener) {
    let base = "/1.0/storage-pools/p1/volumes";
    let r = env.call("GET", base, None);
    ok(&r);
    assert_eq!(r.metadata(), &json!([]));

    let r = env.call(
        "POST",
        &format!("{base}/custom"),
        Some(&json!({"name": "vol1", "config": {"size": "64MiB"}})),
    );
    ok(&r);
    assert_eq!(r.metadata(), &json!({}));
    assert_eq!(r.header("location"), None);
    let event = listener.lifecycle("storage-volume-created");
    assert_eq!(event["metadata"]["source"], format!("{base}/custom/vol1"));
    assert_eq!(event["metadata"]["context"], json!({"type": "custom"}));
    assert_eq!(event["project"], "default");
    let rds = rds_named(env, "incus-volume-default_vol1");
    assert_eq!(rds.len(), 1, "one resource definition for vol1");
    assert_eq!(rds[0].props["Aux/Incus/type"], "custom");
    assert_eq!(rds[0].props["Aux/Incus/content-type"], "filesystem");
    assert_eq!(rds[0].resource_group_name.as_deref(), Some("p1"));

    error(
        &env.call("POST", &format!("{base}/custom"), Some(&json!({"name": "vol1"}))),
        409,
        "Volume by that name already exists",
    );
    let refusals = [
        (
            format!("{base}/container"),
            json!({"name": "c1", "content_type": "block"}),
            "Storage volumes of type \"container\" cannot have content type \"block\"",
        ),
        (format!("{base}/image"), json!({"name": "abc"}), "fingerprint"),
        (format!("{base}/virtual-machine"), json!({"name": "9v"}), "Invalid storage volume name \"9v\""),
        (format!("{base}/bogus"), json!({"name": "x"}), "Invalid storage volume type \"bogus\""),
        (format!("{base}/custom"), json!({"name": "a b"}), "Invalid storage volume name"),
        (format!("{base}/custom"), json!({}), "No name provided"),
        (
            format!("{base}/custom"),
            json!({"name": "x", "content_type": "tape"}),
            "Invalid content type \"tape\"",
        ),
        (format!("{base}/custom"), json!({"name": "x", "config": {"zfs.blocksize": "8k"}}), "zfs.blocksize"),
        (format!("{base}/custom"), json!({"name": "x", "config": {"size": "lots"}}), "size"),
        (
            format!("{base}/custom"),
            json!({"name": "x", "config": {"block.filesystem": "ntfs"}}),
            "block.filesystem",
        ),
        (
            format!("{base}/custom"),
            json!({"name": "x", "content_type": "block", "config": {"block.filesystem": "ext4"}}),
            "block.filesystem",
        ),
        (format!("{base}/custom?project=bad_project"), json!({"name": "x"}), "project"),
    ];
    for (url, body, message) in refusals {
        error(&env.call("POST", &url, Some(&body)), 400, message);
    }
    error(
        &env.call("POST", "/1.0/storage-pools/nope/volumes/custom", Some(&json!({"name": "x"}))),
        404,
        "Storage pool not found",
    );
    // A create that fails on LINSTOR (no room for it) leaves no row and no resource definition.
    let r = env.call(
        "POST",
        &format!("{base}/custom"),
        Some(&json!({"name": "huge", "config": {"size": "900TiB"}})),
    );
    assert!(r.status >= 400, "{}", r.body);
    envelope(&r);
    error(&env.call("GET", &format!("{base}/custom/huge"), None), 404, "Storage volume not found");
    assert!(rds_named(env, "incus-volume-default_huge").is_empty());

    ok(&env.call(
        "POST",
        &format!("{base}/custom"),
        Some(&json!({"name": "vol2", "content_type": "block", "config": {"size": "32MiB"}})),
    ));
    ok(&env
        .call("POST", base, Some(&json!({"name": "vol3", "type": "custom", "description": "in p2"})))
        .clone());
    // (vol3 went to the default project; one more in project p2.)
    ok(&env.call(
        "POST",
        &format!("{base}/custom?project=p2"),
        Some(&json!({"name": "vol1", "config": {"size": "32MiB"}})),
    ));
    assert_eq!(rds_named(env, "incus-volume-p2_vol1").len(), 1);

    let urls = env.call("GET", base, None);
    ok(&urls);
    assert_eq!(
        urls.metadata(),
        &json!([format!("{base}/custom/vol1"), format!("{base}/custom/vol2"), format!("{base}/custom/vol3")])
    );
    assert_eq!(
        env.call("GET", &format!("{base}?project=p2"), None).metadata(),
        &json!([format!("{base}/custom/vol1?project=p2")])
    );
    let all = env.call("GET", &format!("{base}?all-projects=true&recursion=1"), None);
    assert_eq!(all.metadata().as_array().unwrap().len(), 4);
    error(&env.call("GET", &format!("{base}?all-projects=true&project=p2"), None), 400, "project");
    assert_eq!(env.call("GET", &format!("{base}/custom"), None).metadata(), urls.metadata());
    assert_eq!(env.call("GET", &format!("{base}/image"), None).metadata(), &json!([]));
    error(&env.call("GET", &format!("{base}/bogus"), None), 400, "Invalid storage volume type \"bogus\"");

    let listed = env.call("GET", &format!("{base}?recursion=1"), None);
    ok(&listed);
    let first = &listed.metadata()[0];
    assert_eq!(
        keys(first),
        set(&[
            "config",
            "description",
            "name",
            "type",
            "used_by",
            "location",
            "content_type",
            "project",
            "created_at"
        ])
    );
    assert_eq!(first["name"], "vol1");
    assert_eq!(first["type"], "custom");
    assert_eq!(first["content_type"], "filesystem");
    assert_eq!(first["project"], "default");
    assert_eq!(first["used_by"], json!([]));
    assert_eq!(first["config"]["size"], "64MiB");
    assert_eq!(first["config"]["block.filesystem"], "ext4");
    let created = first["created_at"].as_str().unwrap();
    assert!(created.len() >= 20 && created.ends_with('Z') && !created.starts_with("0001"), "{created}");
    assert_eq!(listed.metadata()[1]["content_type"], "block");
    assert!(listed.metadata()[1]["config"].get("block.filesystem").is_none());
    assert_eq!(listed.metadata()[2]["description"], "in p2");

    let full = env.call("GET", &format!("{base}?recursion=2"), None);
    ok(&full);
    let first = &full.metadata()[0];
    for key in ["backups", "snapshots", "state", "config", "name"] {
        assert!(first.get(key).is_some(), "{key} missing from recursion=2");
    }
    assert_eq!(first["snapshots"], json!([]));
    assert_eq!(first["state"]["usage"]["total"], 64 << 20);

    // Filters.
    let filtered = |filter: &str| -> Vec<String> {
        let url = format!("{base}?recursion=1&filter={}", filter.replace(' ', "+"));
        let r = env.call("GET", &url, None);
        ok(&r);
        r.metadata().as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(filtered(""), ["vol1", "vol2", "vol3"]);
    assert_eq!(filtered("content_type eq block"), ["vol2"]);
    assert_eq!(filtered("name eq vol1 or name eq vol3"), ["vol1", "vol3"]);
    assert_eq!(filtered("name eq (^vol$|^vol.*)"), ["vol1", "vol2", "vol3"]);
    assert_eq!(filtered("config.size eq 64MiB"), ["vol1"]);
    assert_eq!(filtered("not type eq custom"), Vec::<String>::new());

    // One volume: GET with ETag, recursion=1 = full, state.
    let vol1 = format!("{base}/custom/vol1");
    let r = env.call("GET", &vol1, None);
    ok(&r);
    assert_eq!(r.etag().len(), 64);
    assert_eq!(r.metadata()["name"], "vol1");
    assert!(env.call("GET", &format!("{vol1}?recursion=1"), None).metadata().get("state").is_some());
    let state = env.call("GET", &format!("{vol1}/state"), None);
    ok(&state);
    assert_eq!(keys(state.metadata()), set(&["usage"]));
    assert_eq!(state.metadata()["usage"]["total"], 64 << 20);
    error(&env.call("GET", &format!("{base}/custom/nope"), None), 404, "Storage volume not found");
    error(&env.call("GET", &format!("{base}/custom/nope/state"), None), 404, "Storage volume not found");
    error(&env.call("GET", &format!("{vol1}?project=p3"), None), 404, "Storage volume not found");

    // PUT (If-Match; size grows the volume), PATCH (merge; description kept).
    let etag = r.etag();
    let mut config = r.metadata()["config"].clone();
    config["size"] = json!("96MiB");
    let stale = env.call_with("PUT", &vol1, Some(&json!({"config": config})), &[("If-Match", "\"beef\"")]);
    error(&stale, 412, "ETag doesn't match");
    let put = env.call_with(
        "PUT",
        &vol1,
        Some(&json!({"config": config, "description": "data"})),
        &[("If-Match", &format!("\"{etag}\""))],
    );
    ok(&put);
    assert_eq!(put.metadata(), &json!({}));
    listener.lifecycle("storage-volume-updated");
    assert_eq!(env.call("GET", &format!("{vol1}/state"), None).metadata()["usage"]["total"], 96 << 20);
    let rd = &rds_named(env, "incus-volume-default_vol1")[0];
    let vd = env.rt().block_on(env.linstor().volume_definition_get(&rd.name, 0)).expect("volume definition");
    assert_eq!(vd.size_kib, 96 * 1024);
    ok(&env.call("PATCH", &vol1, Some(&json!({"config": {"user.owner": "me"}}))));
    let got = env.call("GET", &vol1, None).metadata().clone();
    assert_eq!(got["description"], "data");
    assert_eq!(got["config"]["user.owner"], "me");
    assert_eq!(got["config"]["size"], "96MiB");
    // A restore-only PUT changes nothing.
    ok(&env.call("PUT", &vol1, Some(&json!({"config": null, "description": ""}))));
    assert_eq!(env.call("GET", &vol1, None).metadata()["description"], "data");
    error(
        &env.call("PATCH", &vol1, Some(&json!({"config": {"block.filesystem": "xfs"}}))),
        400,
        "block.filesystem",
    );
    error(
        &env.call("PATCH", &format!("{base}/custom/vol2"), Some(&json!({"config": {"size": "16MiB"}}))),
        400,
        "shrunk",
    );
    error(
        &env.call("PATCH", &vol1, Some(&json!({"config": {"drbd.on_no_quorum": "bla"}}))),
        400,
        "drbd.on_no_quorum",
    );
    assert_eq!(env.call("GET", &vol1, None).metadata()["config"], got["config"]);

    // Rename: 201 + Location; the old name is gone; a taken name is 409.
    let r = env.call("POST", &vol1, Some(&json!({"name": "vol1b"})));
    sync(&r, 201);
    assert_eq!(r.header("location"), Some(format!("{base}/custom/vol1b").as_str()));
    let event = listener.lifecycle("storage-volume-renamed");
    assert_eq!(event["metadata"]["context"]["old_name"], "vol1");
    error(&env.call("GET", &vol1, None), 404, "Storage volume not found");
    assert_eq!(rds_named(env, "incus-volume-default_vol1b").len(), 1);
    assert!(rds_named(env, "incus-volume-default_vol1").is_empty());
    let vol1b = format!("{base}/custom/vol1b");
    error(
        &env.call("POST", &vol1b, Some(&json!({"name": "vol2"}))),
        409,
        "Volume by that name already exists",
    );
    error(&env.call("POST", &vol1b, Some(&json!({"name": "a/b"}))), 400, "slash");
    error(&env.call("POST", &vol1b, Some(&json!({"name": "x", "pool": "other"}))), 501, "another pool");

    // Mount (Strand's own), then delete and rename are refused while mounted.
    let target = env.dir.join("mnt");
    let r = env.call("POST", &format!("{vol1b}/mount"), Some(&json!({"path": target})));
    ok(&r);
    assert_eq!(r.metadata()["users"], 1);
    assert_eq!(r.metadata()["path"], target.display().to_string());
    std::fs::write(target.join("hello"), "world").expect("write on the mounted volume");
    error(&env.call("DELETE", &vol1b, None), 400, "in use");
    error(&env.call("POST", &vol1b, Some(&json!({"name": "vol1c"}))), 400, "");
    let r = env.call("POST", &format!("{vol1b}/unmount"), None);
    ok(&r);
    assert_eq!(r.metadata()["status"], "unmounted");
    assert!(!target.join("hello").exists());
    let path = env.call("GET", &format!("{base}/custom/vol2/path"), None);
    ok(&path);
    assert!(path.metadata()["path"].as_str().is_some_and(|p| !p.is_empty()), "{}", path.body);
    assert!(path.metadata()["device"].as_str().is_some_and(|p| !p.is_empty()), "{}", path.body);

    // Delete; the pool is in use while volumes remain.
    error(&env.call("DELETE", &format!("{base}/container/c1"), None), 404, "Storage volume not found");
    error(&env.call("DELETE", "/1.0/storage-pools/p1", None), 400, "The storage pool is currently in use");
    let pool = env.call("GET", "/1.0/storage-pools/p1", None).metadata().clone();
    assert_eq!(
        pool["used_by"],
        json!([
            format!("{base}/custom/vol1?project=p2"),
            format!("{base}/custom/vol1b"),
            format!("{base}/custom/vol2"),
            format!("{base}/custom/vol3"),
        ])
    );
    for url in [
        vol1b.clone(),
        format!("{base}/custom/vol2"),
        format!("{base}/custom/vol3"),
        format!("{base}/custom/vol1?project=p2"),
    ] {
        let r = env.call("DELETE", &url, None);
        ok(&r);
        assert_eq!(r.metadata(), &json!({}));
    }
    listener.lifecycle("storage-volume-deleted");
    error(&env.call("DELETE", &vol1b, None), 404, "Storage volume not found");
    for name in ["default_vol1b", "default_vol2", "default_vol3", "p2_vol1"] {
        assert!(rds_named(env, &format!("incus-volume-{name}")).is_empty(), "{name} left on LINSTOR");
    }
    let r = env.call("DELETE", "/1.0/storage-pools/p1", None);
    ok(&r);
    listener.lifecycle("storage-pool-deleted");
    assert!(env.rt().block_on(env.linstor().resource_group_get("p1")).is_err_and(|e| e.is_not_found()));
    assert_eq!(env.call("GET", "/1.0/storage-pools", None).metadata(), &json!([]));
}

fn check_operations(env: &Env, listener: &Listener) {
    let r = env.call("GET", "/1.0/operations", None);
    ok(&r);
    assert_eq!(r.metadata(), &json!({}));
    error(&env.call("GET", "/1.0/operations/nope", None), 404, "Operation not found");
    error(&env.call("GET", "/1.0/operations/nope/wait", None), 404, "Operation not found");
    error(&env.call("DELETE", "/1.0/operations/nope", None), 404, "Operation not found");

    // An operation of the daemon's registry (the storage routes of this issue are all sync).
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let spec = daemon::operations::OperationSpec::task("Copying storage volume", "default")
        .resource("storage_volumes", "/1.0/storage-pools/p/volumes/custom/v".into());
    let op = {
        let _rt = env.rt().enter();
        env.daemon().state().operations.start(spec, async move {
            let _ = wait.await;
            Ok(None)
        })
    };
    let url = format!("/1.0/operations/{}", op.id);
    let r = env.call("GET", "/1.0/operations", None);
    assert_eq!(r.metadata(), &json!({"running": [url]}));
    let listed = env.call("GET", "/1.0/operations?recursion=1", None);
    assert_eq!(listed.metadata()[0]["id"], op.id.as_str());
    let r = env.call("GET", &url, None);
    ok(&r);
    let m = r.metadata();
    assert_eq!(
        keys(m),
        set(&[
            "id",
            "class",
            "description",
            "created_at",
            "updated_at",
            "status",
            "status_code",
            "resources",
            "metadata",
            "may_cancel",
            "err",
            "location"
        ])
    );
    assert_eq!((m["status"].as_str(), m["status_code"].as_u64()), (Some("Running"), Some(103)));
    assert_eq!(m["class"], "task");
    assert_eq!(m["location"], "none");
    let r = env.call("GET", &format!("{url}/wait?timeout=0"), None);
    ok(&r);
    assert_eq!(r.metadata()["status_code"], 103);
    error(&env.call("GET", &format!("{url}/wait?timeout=soon"), None), 400, "timeout");
    error(&env.call("DELETE", &url, None), 400, "cannot be cancelled");
    let waiter = {
        let socket = env.socket.clone();
        let url = url.clone();
        std::thread::spawn(move || {
            support::call(&socket, "GET", &format!("{url}/wait?timeout=-1"), None, &[])
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let _ = go.send(());
    let done = waiter.join().expect("waiter");
    ok(&done);
    assert_eq!(
        (done.metadata()["status"].as_str(), done.metadata()["status_code"].as_u64()),
        (Some("Success"), Some(200))
    );
    assert_eq!(done.metadata()["err"], "");
    // The final event carries the resources; the finished operation is still readable.
    let last = listener
        .wait_for("operation success", |e| e["type"] == "operation" && e["metadata"]["status_code"] == 200);
    assert_eq!(
        last["metadata"]["resources"]["storage_volumes"],
        json!(["/1.0/storage-pools/p/volumes/custom/v"])
    );
    assert_eq!(env.call("GET", &url, None).metadata()["status"], "Success");
    assert_eq!(env.call("GET", "/1.0/operations", None).metadata(), &json!({"success": [url]}));
    let statuses: Vec<u64> = listener
        .events()
        .iter()
        .filter(|e| e["type"] == "operation" && e["metadata"]["id"] == op.id.as_str())
        .filter_map(|e| e["metadata"]["status_code"].as_u64())
        .collect();
    assert_eq!(statuses, [105, 103, 200]);
}

#[test]
fn storage_api_over_the_socket() {
    require_env!();
    let env = Env::start("api");

    // strand up serves the same daemon on its own socket, mode 0660, pointed at itself.
    let mode = std::fs::metadata(&env.up_socket).expect("strand up's socket").permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
    let mode = std::fs::metadata(&env.socket).expect("the daemon's socket").permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
    let up = support::call(&env.up_socket, "GET", "/1.0", None, &[]);
    ok(&up);
    assert_eq!(up.metadata()["environment"]["storage"], "linstor");
    assert_eq!(up.metadata()["config"]["storage.linstor.controller_connection"], env.controller_url.as_str());
    assert_eq!(up.metadata()["config"]["storage.linstor.satellite.name"], env.node.as_str());

    error(&env.call("GET", "/1.0/events?type=bogus", None), 400, "bogus");
    error(&env.call("GET", "/1.0/events", None), 400, "websocket");
    let listener = Listener::start(&env.socket, "");
    let other_project = Listener::start(&env.socket, "?project=p2&type=lifecycle");

    check_server(&env);
    check_pools(&env, &listener);
    check_volumes(&env, &listener);
    check_operations(&env, &listener);

    // Project delivery: the p2 listener saw p2's volume and the pools, not default's volumes.
    let seen: Vec<Value> = other_project.events();
    assert!(seen.iter().all(|e| e["type"] == "lifecycle"));
    assert!(seen.iter().any(|e| e["metadata"]["action"] == "storage-pool-created"));
    assert!(seen.iter().any(|e| e["project"] == "p2"));
    assert!(!seen.iter().any(|e| e["project"] == "default"));

    // Pings every 10 s.
    let elapsed = listener.since.elapsed();
    if elapsed < Duration::from_secs(11) {
        std::thread::sleep(Duration::from_secs(11) - elapsed);
    }
    assert!(listener.pings() >= 1, "no websocket ping in {:?}", listener.since.elapsed());
}
