//! Multi-node tests: a `strand controller` and three `strand satellite`s, each in its own
//! network namespace (see the `testbed` crate), driven through `linstor-client`.
//!
//! Root only; elsewhere each test prints why it is skipped. The tests run one at a time (they
//! assert on timings, and the machine is shared).

use linstor_api::consts::*;
use linstor_api::{
    ApiCallRc, AutoPlaceRequest, AutoSelectFilter, NetInterface, Node, ResourceCreate, ResourceDefinition,
    ResourceDefinitionCreate, ResourceMakeAvailable, StoragePool, VolumeDefinition, VolumeDefinitionCreate,
};
use linstor_client::{Client, Error, ListOpts};
use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use testbed::Cluster;

const STRAND: &str = env!("CARGO_BIN_EXE_strand");
static SERIAL: Mutex<()> = Mutex::new(());

/// Calls touching a node that is gone must answer within this.
const PROMPT: Duration = Duration::from_secs(5);
/// A dead connection must be noticed within this (ping interval + ping timeout + slack).
const NOTICED: Duration = Duration::from_secs(8);
/// A satellite back must be ONLINE within this (reconnect backoff is at most 5 s).
const BACK: Duration = Duration::from_secs(15);

const MIB: i64 = 1024;

fn cluster(tag: &str, names: &[&str]) -> Option<Cluster> {
    if let Some(why) = testbed::unavailable() {
        eprintln!("skipping {tag}: {why}");
        return None;
    }
    Some(Cluster::start(tag, Path::new(STRAND), names).unwrap_or_else(|err| panic!("cluster: {err}")))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn client(cluster: &Cluster) -> Client {
    Client::builder().controller(cluster.url()).timeout(Duration::from_secs(120)).build().expect("client")
}

fn props(pairs: &[(&str, &str)]) -> linstor_api::Props {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn has(answer: &[ApiCallRc], code: i64) -> bool {
    answer.iter().any(|rc| rc.is(code))
}

#[track_caller]
fn ok(result: Result<Vec<ApiCallRc>, Error>) -> Vec<ApiCallRc> {
    match result {
        Ok(list) => list,
        Err(err) => panic!("call failed: {err}"),
    }
}

/// Registers a satellite node with its address and props, and a FILE_THIN pool per name in
/// `pools`.
async fn add_node(api: &Client, cluster: &Cluster, name: &str, aux: &[(&str, &str)], pools: &[&str]) {
    let sat = cluster.satellite(name);
    let node = Node {
        name: name.to_string(),
        node_type: "SATELLITE".into(),
        props: props(aux),
        net_interfaces: vec![NetInterface {
            name: "default".into(),
            address: sat.addr.to_string(),
            satellite_port: Some(i32::from(testbed::SATELLITE_PORT)),
            ..Default::default()
        }],
        ..Default::default()
    };
    ok(api.node_create(&node).await);
    wait_status(api, name, "ONLINE", BACK).await;
    for pool in pools {
        let dir = sat.pools_dir.join(pool);
        let pool = StoragePool {
            storage_pool_name: pool.to_string(),
            provider_kind: "FILE_THIN".into(),
            props: props(&[("StorDriver/StorPoolName", &dir.display().to_string())]),
            ..Default::default()
        };
        let answer = ok(api.storage_pool_create(name, &pool).await);
        assert!(!has(&answer, WARN_NOT_CONNECTED), "{answer:?}");
    }
}

async fn status(api: &Client, name: &str) -> String {
    api.node_get(name).await.expect("node get").connection_status.unwrap_or_default()
}

/// Waits until `name`'s connection status is `want`; answers how long it took.
async fn wait_status(api: &Client, name: &str, want: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now = status(api, name).await;
        if now == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "node {name} is {now}, not {want}, after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn new_rd(api: &Client, name: &str, size_kib: i64) {
    let rd = ResourceDefinitionCreate {
        resource_definition: ResourceDefinition { name: name.into(), ..Default::default() },
        ..Default::default()
    };
    ok(api.resource_definition_create(&rd).await);
    let vd = VolumeDefinitionCreate {
        volume_definition: VolumeDefinition { size_kib, ..Default::default() },
        ..Default::default()
    };
    ok(api.volume_definition_create(name, &vd).await);
}

async fn autoplace(api: &Client, rd: &str, filter: AutoSelectFilter) -> Result<Vec<ApiCallRc>, Error> {
    api.resource_autoplace(rd, &AutoPlaceRequest { select_filter: filter, ..Default::default() }).await
}

/// The nodes holding `rd`, with the pool of volume 0.
async fn placed(api: &Client, rd: &str) -> BTreeSet<(String, String)> {
    api.resource_view(&ListOpts::new().resource(rd))
        .await
        .expect("resource view")
        .into_iter()
        .map(|r| {
            let pool = r.volumes.first().and_then(|v| v.storage_pool_name.clone()).unwrap_or_default();
            (r.resource.node_name, pool)
        })
        .collect()
}

fn nodes_of(set: &BTreeSet<(String, String)>) -> BTreeSet<String> {
    set.iter().map(|(n, _)| n.clone()).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The device of `rd`'s volume 0 on `node`, with its disk state.
async fn device(api: &Client, rd: &str, node: &str) -> (String, String) {
    let v = api.volume_get(rd, node, 0).await.expect("volume 0");
    let state = v.state.as_ref().and_then(|s| s.disk_state.clone()).unwrap_or_default();
    (v.device_path.clone().unwrap_or_default(), state)
}

fn write_block(path: &str, offset: u64, data: &[u8]) {
    let mut f = std::fs::OpenOptions::new().write(true).open(path).expect("open device");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.write_all(data).expect("write");
    f.sync_all().expect("sync");
}

fn read_block(path: &str, offset: u64, len: usize) -> Vec<u8> {
    let mut f = std::fs::File::open(path).expect("open device");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    let mut buf = vec![0; len];
    f.read_exact(&mut buf).expect("read");
    buf
}

/// Runs `call` and asserts it answered within [`PROMPT`].
async fn prompt<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    assert!(took < PROMPT, "{what} took {took:?}");
    eprintln!("{what}: answered in {took:?}");
    result
}

#[test]
fn placement_across_three_satellites() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(cluster) = cluster("mn-place", &["alpha", "beta", "gamma"]) else { return };
    let started = Instant::now();
    runtime().block_on(async {
        let api = client(&cluster);
        add_node(
            &api,
            &cluster,
            "alpha",
            &[("Aux/site", "east"), ("Aux/rack", "r1")],
            &["DfltStorPool", "ssd"],
        )
        .await;
        add_node(&api, &cluster, "beta", &[("Aux/site", "west"), ("Aux/rack", "r1")], &["DfltStorPool"])
            .await;
        add_node(
            &api,
            &cluster,
            "gamma",
            &[("Aux/site", "east"), ("Aux/rack", "r2")],
            &["DfltStorPool", "ssd"],
        )
        .await;

        // What each node reports it can serve.
        let alpha = api.node_get("alpha").await.expect("node");
        assert_eq!(alpha.connection_status.as_deref(), Some("ONLINE"));
        assert!(alpha.storage_providers.iter().any(|p| p == "FILE_THIN"), "{alpha:?}");
        assert!(alpha.resource_layers.iter().any(|l| l == "STORAGE"), "{alpha:?}");

        // replicas_on_different: one replica per site.
        new_rd(&api, "r-diff", 16 * MIB).await;
        let f = AutoSelectFilter {
            place_count: Some(2),
            replicas_on_different: vec!["Aux/site".into()],
            ..Default::default()
        };
        ok(autoplace(&api, "r-diff", f).await);
        let nodes = nodes_of(&placed(&api, "r-diff").await);
        assert!(nodes.contains("beta") && nodes.len() == 2, "{nodes:?}");

        // ... and three replicas cannot be spread over two sites.
        new_rd(&api, "r-diff3", 16 * MIB).await;
        let f = AutoSelectFilter {
            place_count: Some(3),
            replicas_on_different: vec!["Aux/site".into()],
            ..Default::default()
        };
        let err = autoplace(&api, "r-diff3", f).await.expect_err("three sites needed");
        assert!(err.is(FAIL_NOT_ENOUGH_NODES), "{err}");
        let cause = err.entries()[0].cause.clone().unwrap_or_default();
        assert!(cause.contains("replicas_on_different [Aux/site]"), "{cause}");
        assert!(placed(&api, "r-diff3").await.is_empty());

        // replicas_on_same: both replicas in one site (only east has two nodes).
        new_rd(&api, "r-same", 16 * MIB).await;
        let f = AutoSelectFilter {
            place_count: Some(2),
            replicas_on_same: vec!["Aux/site".into()],
            ..Default::default()
        };
        ok(autoplace(&api, "r-same", f).await);
        assert_eq!(nodes_of(&placed(&api, "r-same").await), set(&["alpha", "gamma"]));

        // storage_pool_list: only nodes with that pool, and the volume lands in it.
        new_rd(&api, "r-ssd", 16 * MIB).await;
        let f = AutoSelectFilter {
            place_count: Some(2),
            storage_pool_list: vec!["ssd".into()],
            ..Default::default()
        };
        ok(autoplace(&api, "r-ssd", f).await);
        let got = placed(&api, "r-ssd").await;
        let want: BTreeSet<(String, String)> = [("alpha", "ssd"), ("gamma", "ssd")]
            .iter()
            .map(|(n, p)| (n.to_string(), p.to_string()))
            .collect();
        assert_eq!(got, want);
        new_rd(&api, "r-ssd3", 16 * MIB).await;
        let f = AutoSelectFilter {
            place_count: Some(3),
            storage_pool_list: vec!["ssd".into()],
            ..Default::default()
        };
        let err = autoplace(&api, "r-ssd3", f).await.expect_err("only two nodes have ssd");
        assert!(err.is(FAIL_NOT_ENOUGH_NODES), "{err}");
        let cause = err.entries()[0].cause.clone().unwrap_or_default();
        assert!(cause.contains("not in storage_pool / storage_pool_list"), "{cause}");

        // node_name_list.
        new_rd(&api, "r-list", 16 * MIB).await;
        let f = AutoSelectFilter {
            place_count: Some(2),
            node_name_list: vec!["beta".into(), "gamma".into()],
            ..Default::default()
        };
        ok(autoplace(&api, "r-list", f).await);
        assert_eq!(nodes_of(&placed(&api, "r-list").await), set(&["beta", "gamma"]));

        // not_place_with_rsc: away from r-same (alpha, gamma).
        new_rd(&api, "r-apart", 16 * MIB).await;
        let f = AutoSelectFilter {
            place_count: Some(1),
            not_place_with_rsc: vec!["r-same".into()],
            ..Default::default()
        };
        ok(autoplace(&api, "r-apart", f).await);
        assert_eq!(nodes_of(&placed(&api, "r-apart").await), set(&["beta"]));
        new_rd(&api, "r-apart2", 16 * MIB).await;
        let f = AutoSelectFilter {
            place_count: Some(2),
            not_place_with_rsc: vec!["r-same".into()],
            ..Default::default()
        };
        let err = autoplace(&api, "r-apart2", f).await.expect_err("only beta is apart");
        assert!(err.is(FAIL_NOT_ENOUGH_NODES), "{err}");
        let cause = err.entries()[0].cause.clone().unwrap_or_default();
        assert!(cause.contains("with a resource of not_place_with_rsc"), "{cause}");

        // Every placed volume is a real device on its node.
        for (node, _) in placed(&api, "r-ssd").await {
            let (dev, state) = device(&api, "r-ssd", &node).await;
            assert_eq!(state, "UpToDate", "{node}");
            assert!(dev.starts_with(&cluster.satellite(&node).dev_dir.display().to_string()), "{dev}");
        }

        // diskless_on_remaining without DRBD anywhere: nothing diskless, and the answer says why.
        new_rd(&api, "r-rest", 16 * MIB).await;
        let request = AutoPlaceRequest {
            diskless_on_remaining: Some(true),
            select_filter: AutoSelectFilter {
                place_count: Some(1),
                node_name_list: vec!["alpha".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = ok(api.resource_autoplace("r-rest", &request).await);
        let note = answer.iter().find(|rc| rc.message.starts_with("diskless_on_remaining")).expect("a note");
        assert!(note.message.contains("beta, gamma"), "{note:?}");
        assert_eq!(nodes_of(&placed(&api, "r-rest").await), set(&["alpha"]));

        // Without DRBD, a volume is used only where a replica is: make-available elsewhere says so.
        let err = api
            .resource_make_available("r-apart", "alpha", &ResourceMakeAvailable::default())
            .await
            .expect_err("no DRBD, no replica on alpha");
        let rc = &err.entries()[0];
        assert!(rc.is(FAIL_STLT_DOES_NOT_SUPPORT_LAYER), "{err}");
        assert!(rc.message.contains("without a replica of its own there"), "{rc:?}");
        assert!(rc.cause.as_deref().unwrap_or_default().contains("DRBD"), "{rc:?}");
        assert!(rc.correction.as_deref().unwrap_or_default().contains("beta"), "{rc:?}");
        // Where a replica is, make-available is a no-op.
        let answer =
            ok(api.resource_make_available("r-apart", "beta", &ResourceMakeAvailable::default()).await);
        assert!(has(&answer, INFO_RSC_ALREADY_EXISTS), "{answer:?}");

        // A node that holds resources is not deleted.
        let err = api.node_delete("beta").await.expect_err("beta holds resources");
        assert!(err.is(FAIL_NODE_HAS_USED_RSC), "{err}");
        assert!(err.to_string().contains("r-apart"), "{err}");
        // Nor declared lost while it is connected.
        let err = api.node_lost("beta").await.expect_err("beta is connected");
        assert!(err.is(FAIL_EXISTS_NODE_CONN), "{err}");
        assert_eq!(status(&api, "beta").await, "ONLINE");
    });
    eprintln!("placement test: {:?}", started.elapsed());
}

#[test]
fn node_failures_and_recovery() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(mut cluster) = cluster("mn-fail", &["alpha", "beta", "gamma"]) else { return };
    let started = Instant::now();
    let rt = runtime();
    let api = client(&cluster);
    let (beta, gamma) = (cluster.index("beta"), cluster.index("gamma"));
    rt.block_on(async {
        for (name, site) in [("alpha", "east"), ("beta", "west"), ("gamma", "north")] {
            add_node(&api, &cluster, name, &[("Aux/site", site)], &["DfltStorPool"]).await;
        }
        // r1 on alpha and beta, with data on beta; r3 on beta (to be deleted while it is away).
        for (rd, nodes) in [("r1", vec!["alpha", "beta"]), ("r3", vec!["beta"])] {
            new_rd(&api, rd, 32 * MIB).await;
            let creates: Vec<ResourceCreate> = nodes
                .iter()
                .map(|n| ResourceCreate {
                    resource: linstor_api::Resource { node_name: n.to_string(), ..Default::default() },
                    ..Default::default()
                })
                .collect();
            let answer = ok(api.resource_create(rd, &creates).await);
            assert!(!has(&answer, WARN_NOT_CONNECTED), "{answer:?}");
        }
        let (dev, state) = device(&api, "r1", "beta").await;
        assert_eq!(state, "UpToDate");
        write_block(&dev, 4096, b"strand multinode data");
    });
    let beta_dir = cluster.satellite("beta").dir.clone();
    let beta_loops_before = testbed::loops_under(&beta_dir);
    assert_eq!(beta_loops_before.len(), 2, "{beta_loops_before:?}");

    // A killed satellite is OFFLINE within seconds.
    cluster.kill_satellite(beta);
    rt.block_on(async {
        let took = wait_status(&api, "beta", "OFFLINE", NOTICED).await;
        eprintln!("killed satellite OFFLINE after {took:?}");

        // Calls touching it answer at once, with a warning.
        new_rd(&api, "r2", 16 * MIB).await;
        let create = ResourceCreate {
            resource: linstor_api::Resource { node_name: "beta".into(), ..Default::default() },
            ..Default::default()
        };
        let answer = ok(prompt(
            "resource create on the dead node",
            api.resource_create_on_node("r2", "beta", &create),
        )
        .await);
        assert!(has(&answer, WARN_NOT_CONNECTED), "{answer:?}");
        assert!(!answer.iter().any(|rc| rc.message.contains("ready")), "{answer:?}");
        let answer = ok(prompt(
            "VD resize with a replica on the dead node",
            api.volume_definition_resize("r1", 0, 48 * MIB),
        )
        .await);
        assert!(has(&answer, WARN_NOT_CONNECTED), "{answer:?}");
        let answer =
            ok(prompt("RD delete with a replica on the dead node", api.resource_definition_delete("r3"))
                .await);
        assert!(has(&answer, WARN_NOT_CONNECTED), "{answer:?}");
        // alpha got the resize meanwhile.
        let alpha = api.volume_get("r1", "alpha", 0).await.expect("r1 on alpha");
        assert_eq!(alpha.usable_size_kib, Some(48 * MIB));
        // Placement skips it, and says so.
        new_rd(&api, "r4", 16 * MIB).await;
        let err = prompt(
            "autoplace needing the dead node",
            autoplace(&api, "r4", AutoSelectFilter { place_count: Some(3), ..Default::default() }),
        )
        .await
        .expect_err("only two nodes are online");
        assert!(err.is(FAIL_NOT_ENOUGH_NODES), "{err}");
        assert!(err.entries()[0].cause.as_deref().unwrap_or_default().contains("on offline nodes"), "{err}");
    });

    // Back: ONLINE, everything found again and brought up to date; nothing duplicated.
    cluster.start_satellite(beta).expect("restart beta");
    rt.block_on(async {
        let took = wait_status(&api, "beta", "ONLINE", BACK).await;
        eprintln!("restarted satellite ONLINE after {took:?}");
        let r1 = api.volume_get("r1", "beta", 0).await.expect("r1 on beta");
        assert_eq!(r1.usable_size_kib, Some(48 * MIB), "the resize reached beta");
        let (dev, state) = device(&api, "r1", "beta").await;
        assert_eq!(state, "UpToDate");
        assert_eq!(read_block(&dev, 4096, 21), b"strand multinode data");
        let (_, state) = device(&api, "r2", "beta").await;
        assert_eq!(state, "UpToDate", "r2 was made on reconnect");
        assert!(api.resource_get("r3", "beta").await.is_err(), "r3 is gone");
    });
    let loops = testbed::loops_under(&beta_dir);
    let files: BTreeSet<_> = loops.iter().map(|(_, f)| f.clone()).collect();
    assert_eq!(files.len(), loops.len(), "one loop device per file: {loops:?}");
    assert_eq!(loops.len(), 2, "r1 and r2 (r3 removed): {loops:?}");
    assert!(
        loops.iter().any(|(dev, _)| beta_loops_before.iter().any(|(d, _)| d == dev)),
        "r1 kept its device"
    );

    // A node cut off by its link going down: OFFLINE within seconds, ONLINE again after.
    rt.block_on(async {
        new_rd(&api, "r6", 16 * MIB).await;
        let create = ResourceCreate {
            resource: linstor_api::Resource { node_name: "gamma".into(), ..Default::default() },
            ..Default::default()
        };
        ok(api.resource_create_on_node("r6", "gamma", &create).await);
    });
    cluster.set_link(gamma, false).expect("link down");
    rt.block_on(async {
        // A call made before the controller noticed waits only until it does.
        let started = Instant::now();
        let answer = ok(api.volume_definition_resize("r6", 0, 20 * MIB).await);
        let took = started.elapsed();
        eprintln!("VD resize right after the link went down: answered in {took:?}");
        assert!(took < NOTICED, "{took:?}");
        assert!(has(&answer, WARN_NOT_CONNECTED), "{answer:?}");
        let took = wait_status(&api, "gamma", "OFFLINE", NOTICED).await;
        eprintln!("cut-off satellite OFFLINE after {took:?}");
        new_rd(&api, "r5", 16 * MIB).await;
        let create = ResourceCreate {
            resource: linstor_api::Resource { node_name: "gamma".into(), ..Default::default() },
            ..Default::default()
        };
        let answer = ok(prompt(
            "resource create on the cut-off node",
            api.resource_create_on_node("r5", "gamma", &create),
        )
        .await);
        assert!(has(&answer, WARN_NOT_CONNECTED), "{answer:?}");
    });
    cluster.set_link(gamma, true).expect("link up");
    rt.block_on(async {
        let took = wait_status(&api, "gamma", "ONLINE", BACK).await;
        eprintln!("reconnected satellite ONLINE after {took:?}");
        let (_, state) = device(&api, "r5", "gamma").await;
        assert_eq!(state, "UpToDate", "r5 was made on reconnect");
        let r6 = api.volume_get("r6", "gamma", 0).await.expect("r6 on gamma");
        assert_eq!(r6.usable_size_kib, Some(20 * MIB), "the resize reached gamma");

        // Reconnect on request.
        let answer = ok(api.node_reconnect("alpha").await);
        assert!(answer[0].message.contains("will be reconnected"), "{answer:?}");
        assert!(!has(&answer, WARN_NOT_CONNECTED), "{answer:?}");
        assert_eq!(status(&api, "alpha").await, "ONLINE");
        let err = api.node_reconnect("nobody").await.expect_err("no such node");
        assert!(err.is(FAIL_NOT_FOUND_NODE), "{err}");
    });

    // Another controller cannot take a satellite that is served.
    let other = cluster.start_other_controller("controller-b").expect("second controller");
    rt.block_on(async {
        let api_b = Client::builder().controller(format!("http://{other}")).build().expect("client");
        let alpha = cluster.satellite("alpha");
        let node = Node {
            name: "alpha".into(),
            node_type: "SATELLITE".into(),
            net_interfaces: vec![NetInterface {
                name: "default".into(),
                address: alpha.addr.to_string(),
                satellite_port: Some(i32::from(testbed::SATELLITE_PORT)),
                ..Default::default()
            }],
            ..Default::default()
        };
        ok(api_b.node_create(&node).await);
        let took = wait_status(&api_b, "alpha", "OTHER_CONTROLLER", BACK).await;
        eprintln!("second controller sees OTHER_CONTROLLER after {took:?}");
        assert_eq!(status(&api, "alpha").await, "ONLINE");
    });

    // A node that will not come back is declared lost: it goes, with its resources.
    cluster.kill_satellite(gamma);
    rt.block_on(async {
        wait_status(&api, "gamma", "OFFLINE", NOTICED).await;
        let err = api.node_delete("gamma").await.expect_err("gamma holds r5");
        assert!(err.is(FAIL_NODE_HAS_USED_RSC), "{err}");
        let answer = ok(prompt("node lost", api.node_lost("gamma")).await);
        assert!(has(&answer, DELETED), "{answer:?}");
        assert!(api.node_get("gamma").await.is_err_and(|e| e.is_not_found()));
        assert!(api.resource_list("r5", &ListOpts::new()).await.expect("list").is_empty());
        let pools = api.storage_pool_view(&ListOpts::new()).await.expect("pools");
        assert!(pools.iter().all(|p| p.node_name.as_deref() != Some("gamma")), "{pools:?}");
        let answer = ok(api.node_lost("gamma").await);
        assert!(has(&answer, WARN_NOT_FOUND), "{answer:?}");
        // The rest of the cluster carries on.
        assert_eq!(status(&api, "alpha").await, "ONLINE");
        assert_eq!(status(&api, "beta").await, "ONLINE");
    });
    drop(rt);
    eprintln!("failure test: {:?}", started.elapsed());
}
