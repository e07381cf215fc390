//! The controller in-process on a random local port, driven through `linstor-client`: every
//! answer is checked for its ret codes, as a LINSTOR client would see them.

use linstor_api::consts::*;
use linstor_api::{
    ApiCallRc, AutoSelectFilter, NetInterface, Node, NodeModify, PropsModify, ResourceDefinition,
    ResourceDefinitionCreate, ResourceDefinitionModify, ResourceGroup, ResourceGroupModify,
    ResourceGroupSpawn, StoragePool, VolumeDefinition, VolumeDefinitionCreate, VolumeGroup,
};
use linstor_client::{Client, ClientBuilder, Error, ListOpts};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A controller serving on 127.0.0.1 with its database in a temporary directory; the server
/// task stops and the directory is removed when the guard is dropped.
struct TestController {
    client: Client,
    dir: PathBuf,
    server: tokio::task::JoinHandle<()>,
}

impl TestController {
    async fn start(tag: &str) -> TestController {
        let dir = std::env::temp_dir().join(format!(
            "strand-ctl-test-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let controller = controller::Controller::open(&dir).expect("open the controller");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, controller::rest::router(controller)).await;
        });
        let client = ClientBuilder::new()
            .controller(format!("127.0.0.1:{port}"))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        TestController { client, dir, server }
    }
}

impl Drop for TestController {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rc_is(list: &[ApiCallRc], code: i64) -> bool {
    list.iter().any(|rc| rc.is(code))
}

fn node(name: &str, address: &str) -> Node {
    Node {
        name: name.to_string(),
        node_type: "satellite".to_string(),
        net_interfaces: vec![NetInterface {
            name: "default".to_string(),
            address: address.to_string(),
            satellite_port: Some(3366),
            satellite_encryption_type: Some("plain".to_string()),
            is_active: Some(true),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn rd(name: &str) -> ResourceDefinitionCreate {
    ResourceDefinitionCreate {
        resource_definition: ResourceDefinition { name: name.to_string(), ..Default::default() },
        ..Default::default()
    }
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn controller_version_and_properties() {
    let ctl = TestController::start("ctrl").await;
    let c = &ctl.client;
    let version = c.controller_version().await.unwrap();
    assert_eq!(version.rest_api_version.as_deref(), Some("1.28.0"));
    c.health().await.unwrap();

    let change = PropsModify { override_props: props(&[("Aux/test", "yes")]), ..Default::default() };
    c.controller_props_modify(&change).await.unwrap();
    assert_eq!(c.controller_props().await.unwrap().get("Aux/test").map(String::as_str), Some("yes"));
    c.controller_prop_delete("Aux/test").await.unwrap();
    assert!(!c.controller_props().await.unwrap().contains_key("Aux/test"));
}

#[tokio::test]
async fn nodes_create_list_modify_delete() {
    let ctl = TestController::start("nodes").await;
    let c = &ctl.client;
    let answer = c.node_create(&node("alpha", "127.0.0.1")).await.unwrap();
    assert!(answer.iter().any(|rc| rc.ret_code == MASK_NODE | MASK_CRT | CREATED), "{answer:?}");
    c.node_create(&node("beta", "127.0.0.2")).await.unwrap();

    let err = c.node_create(&node("ALPHA", "127.0.0.3")).await.unwrap_err();
    assert!(err.is(FAIL_EXISTS_NODE), "names are case-insensitive: {err:?}");
    let err = c.node_create(&node("-bad", "127.0.0.4")).await.unwrap_err();
    assert!(err.is(FAIL_INVLD_NODE_NAME), "{err:?}");

    let nodes = c.node_list(&ListOpts::new()).await.unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let only = c.node_list(&ListOpts::new().node("beta")).await.unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].net_interfaces[0].address, "127.0.0.2");

    let change = NodeModify { override_props: props(&[("Aux/site", "east")]), ..Default::default() };
    c.node_modify("alpha", &change).await.unwrap();
    let east = c.node_list(&ListOpts::new().prop("Aux/site=east")).await.unwrap();
    assert_eq!(east.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["alpha"]);
    assert!(c.node_list(&ListOpts::new().prop("Aux/site=west")).await.unwrap().is_empty());

    let got = c.node_get("Alpha").await.unwrap();
    assert_eq!(got.name, "alpha");
    assert_eq!(got.props.get("Aux/site").map(String::as_str), Some("east"));
    let netifs = c.netif_list("alpha").await.unwrap();
    assert_eq!(netifs[0].name, "default");

    let answer = c.node_delete("beta").await.unwrap();
    assert!(rc_is(&answer, DELETED), "{answer:?}");
    let err = c.node_get("beta").await.unwrap_err();
    assert!(err.is_not_found() && err.is(FAIL_NOT_FOUND_NODE), "{err:?}");
}

#[tokio::test]
async fn storage_pools() {
    let ctl = TestController::start("pools").await;
    let c = &ctl.client;
    c.node_create(&node("alpha", "127.0.0.1")).await.unwrap();
    let pool = StoragePool {
        storage_pool_name: "pool1".to_string(),
        provider_kind: "FILE_THIN".to_string(),
        props: props(&[("StorDriver/FileDir", "/var/lib/strand/pool1")]),
        ..Default::default()
    };
    let answer = c.storage_pool_create("alpha", &pool).await.unwrap();
    assert!(rc_is(&answer, CREATED), "{answer:?}");

    let err = c.storage_pool_create("nowhere", &pool).await.unwrap_err();
    assert!(err.is(FAIL_NOT_FOUND_NODE), "{err:?}");
    let err = c.storage_pool_create("alpha", &pool).await.unwrap_err();
    assert!(err.is(FAIL_EXISTS_STOR_POOL), "{err:?}");

    let view = c.storage_pool_view(&ListOpts::new().storage_pool("pool1")).await.unwrap();
    assert_eq!(view.len(), 1);
    assert_eq!(view[0].node_name.as_deref(), Some("alpha"));
    assert_eq!(view[0].provider_kind, "FILE_THIN");
    let got = c.storage_pool_get("alpha", "pool1").await.unwrap();
    // LINSTOR stores the backing pool under StorDriver/StorPoolName, whatever key it came in.
    assert_eq!(got.props.get("StorDriver/StorPoolName").map(String::as_str), Some("/var/lib/strand/pool1"));
    let on_node = c.storage_pool_list("alpha", &ListOpts::new()).await.unwrap();
    assert!(on_node.iter().any(|p| p.storage_pool_name == "pool1"));
    let definitions = c.storage_pool_definition_list(&ListOpts::new()).await.unwrap();
    assert!(definitions.iter().any(|d| d.storage_pool_name == "pool1"));

    let answer = c.storage_pool_delete("alpha", "pool1").await.unwrap();
    assert!(rc_is(&answer, DELETED), "{answer:?}");
    let err = c.storage_pool_get("alpha", "pool1").await.unwrap_err();
    assert!(err.is_not_found() && err.is(FAIL_NOT_FOUND_STOR_POOL), "{err:?}");
}

#[tokio::test]
async fn resource_groups_and_spawn() {
    let ctl = TestController::start("groups").await;
    let c = &ctl.client;
    let group = ResourceGroup {
        name: "incus".to_string(),
        description: Some("for incus".to_string()),
        select_filter: Some(AutoSelectFilter {
            place_count: Some(1),
            storage_pool: Some("pool1".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let answer = c.resource_group_create(&group).await.unwrap();
    assert!(answer.iter().any(|rc| rc.ret_code == MASK_RSC_GRP | MASK_CRT | CREATED), "{answer:?}");
    let err = c.resource_group_create(&group).await.unwrap_err();
    assert!(err.is(FAIL_EXISTS_RSC_GRP), "{err:?}");
    c.volume_group_create("incus", &VolumeGroup::default()).await.unwrap();
    assert_eq!(c.volume_group_list("incus").await.unwrap().len(), 1);

    let change = ResourceGroupModify { description: Some("changed".to_string()), ..Default::default() };
    c.resource_group_modify("incus", &change).await.unwrap();
    let got = c.resource_group_get("INCUS").await.unwrap();
    assert_eq!(got.description.as_deref(), Some("changed"));
    assert_eq!(got.select_filter.as_ref().and_then(|f| f.place_count), Some(1));
    let groups = c.resource_group_list(&ListOpts::new()).await.unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert!(names.contains(&"DfltRscGrp") && names.contains(&"incus"), "{names:?}");

    let spawn = ResourceGroupSpawn {
        resource_definition_name: Some("vol1".to_string()),
        volume_sizes: vec![1024 * 1024],
        definitions_only: Some(true),
        ..Default::default()
    };
    let answer = c.resource_group_spawn("incus", &spawn).await.unwrap();
    assert!(rc_is(&answer, INFO_NO_RSC_SPAWNED), "{answer:?}");
    let rd = c.resource_definition_get("vol1").await.unwrap();
    assert_eq!(rd.resource_group_name.as_deref(), Some("incus"));
    let vds = c.volume_definition_list("vol1").await.unwrap();
    assert_eq!(vds.len(), 1);
    assert_eq!(vds[0].size_kib, 1024 * 1024);

    let wrong = ResourceGroupSpawn { volume_sizes: vec![1, 2], ..spawn.clone() };
    let err = c.resource_group_spawn("incus", &wrong).await.unwrap_err();
    assert!(err.is(FAIL_INVLD_VLM_SIZES) || err.is(FAIL_EXISTS_RSC_DFN), "{err:?}");
    let err = c.resource_group_spawn("missing", &spawn).await.unwrap_err();
    assert!(err.is(FAIL_NOT_FOUND_RSC_GRP), "{err:?}");

    let err = c.resource_group_delete("incus").await.unwrap_err();
    assert!(err.is(FAIL_EXISTS_RSC_DFN) || err.is(FAIL_IN_USE), "a group in use stays: {err:?}");
    c.resource_definition_delete("vol1").await.unwrap();
    let answer = c.resource_group_delete("incus").await.unwrap();
    assert!(rc_is(&answer, DELETED), "{answer:?}");
    let err = c.resource_group_get("incus").await.unwrap_err();
    assert!(err.is_not_found() && err.is(FAIL_NOT_FOUND_RSC_GRP), "{err:?}");
}

#[tokio::test]
async fn resource_definitions_with_aux_props_and_filters() {
    let ctl = TestController::start("rds").await;
    let c = &ctl.client;
    for (name, incus_name, kind) in
        [("rd-a", "vol-a", "custom"), ("rd-b", "vol-b", "images"), ("rd-c", "vol-c", "custom")]
    {
        let answer = c.resource_definition_create(&rd(name)).await.unwrap();
        assert!(answer.iter().any(|rc| rc.ret_code == MASK_RSC_DFN | MASK_CRT | CREATED), "{answer:?}");
        let change = ResourceDefinitionModify {
            override_props: props(&[("Aux/Incus/name", incus_name), ("Aux/Incus/type", kind)]),
            ..Default::default()
        };
        c.resource_definition_modify(name, &change).await.unwrap();
    }
    let err = c.resource_definition_create(&rd("RD-A")).await.unwrap_err();
    assert!(err.is(FAIL_EXISTS_RSC_DFN), "{err:?}");
    let err = c.resource_definition_create(&rd("1-bad")).await.unwrap_err();
    assert!(err.is(FAIL_INVLD_RSC_NAME), "{err:?}");

    let found = c.resource_definition_list(&ListOpts::new().prop("Aux/Incus/name=vol-b")).await.unwrap();
    assert_eq!(found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["rd-b"]);
    let custom = c
        .resource_definition_list(&ListOpts::new().prop("Aux/Incus/type=custom"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect::<Vec<_>>();
    assert_eq!(custom, ["rd-a", "rd-c"]);
    let both = c
        .resource_definition_list(&ListOpts::new().prop("Aux/Incus/type=custom").prop("Aux/Incus/name=vol-c"))
        .await
        .unwrap();
    assert_eq!(both.len(), 1, "props filters are ANDed");
    let with_key = c.resource_definition_list(&ListOpts::new().prop("Aux/Incus/name")).await.unwrap();
    assert_eq!(with_key.len(), 3, "a key alone matches every RD that has it");
    let by_name = c.resource_definition_list(&ListOpts::new().resource_definition("RD-C")).await.unwrap();
    assert_eq!(by_name.len(), 1);
    let page = c.resource_definition_list(&ListOpts::new().page(1, 1)).await.unwrap();
    assert_eq!(page.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["rd-b"]);

    let got = c.resource_definition_get("rd-a").await.unwrap();
    assert_eq!(got.props.get("Aux/Incus/name").map(String::as_str), Some("vol-a"));
    assert_eq!(got.resource_group_name.as_deref(), Some("DfltRscGrp"));

    let err = c.resource_definition_get("nope").await.unwrap_err();
    assert!(err.is_not_found() && err.is(FAIL_NOT_FOUND_RSC_DFN), "{err:?}");
    let change = ResourceDefinitionModify { override_props: props(&[("Aux/x", "1")]), ..Default::default() };
    let err = c.resource_definition_modify("nope", &change).await.unwrap_err();
    assert!(err.is(FAIL_NOT_FOUND_RSC_DFN), "{err:?}");

    let answer = c.resource_definition_delete("nope").await.unwrap();
    assert!(
        answer.iter().any(|rc| rc.ret_code == MASK_WARN | MASK_RSC_DFN | MASK_DEL | WARN_NOT_FOUND),
        "{answer:?}"
    );
    let answer = c.resource_definition_delete("rd-a").await.unwrap();
    assert!(rc_is(&answer, DELETED), "{answer:?}");
    assert!(c
        .resource_definition_list(&ListOpts::new().prop("Aux/Incus/name=vol-a"))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn volume_definitions_create_resize_delete() {
    let ctl = TestController::start("vds").await;
    let c = &ctl.client;
    c.resource_definition_create(&rd("rd1")).await.unwrap();
    let vd = |size_kib| VolumeDefinitionCreate {
        volume_definition: VolumeDefinition { size_kib, ..Default::default() },
        ..Default::default()
    };
    let err = c.volume_definition_create("rd1", &vd(0)).await.unwrap_err();
    assert!(err.is(FAIL_INVLD_VLM_SIZE), "{err:?}");
    let err = c.volume_definition_create("missing", &vd(1024)).await.unwrap_err();
    assert!(err.is(FAIL_NOT_FOUND_RSC_DFN), "{err:?}");

    let answer = c.volume_definition_create("rd1", &vd(1024 * 1024)).await.unwrap();
    assert!(answer.iter().any(|rc| rc.ret_code == MASK_VLM_DFN | MASK_CRT | CREATED), "{answer:?}");
    c.volume_definition_create("rd1", &vd(500 * 1024)).await.unwrap();
    let vds = c.volume_definition_list("rd1").await.unwrap();
    assert_eq!(
        vds.iter().map(|v| (v.volume_number, v.size_kib)).collect::<Vec<_>>(),
        [(Some(0), 1024 * 1024), (Some(1), 500 * 1024)]
    );
    let rds = c.resource_definition_list(&ListOpts::new().with_volume_definitions()).await.unwrap();
    assert_eq!(rds[0].volume_definitions.len(), 2);

    let answer = c.volume_definition_resize("rd1", 0, 2 * 1024 * 1024).await.unwrap();
    assert!(rc_is(&answer, MODIFIED), "{answer:?}");
    assert_eq!(c.volume_definition_get("rd1", 0).await.unwrap().size_kib, 2 * 1024 * 1024);
    let err = c.volume_definition_get("rd1", 7).await.unwrap_err();
    assert!(err.is_not_found() && err.is(FAIL_NOT_FOUND_VLM_DFN), "{err:?}");

    let answer = c.volume_definition_delete("rd1", 1).await.unwrap();
    assert!(rc_is(&answer, DELETED), "{answer:?}");
    assert_eq!(c.volume_definition_list("rd1").await.unwrap().len(), 1);
}

#[tokio::test]
async fn key_value_stores() {
    let ctl = TestController::start("kvs").await;
    let c = &ctl.client;
    let change = PropsModify { override_props: props(&[("a", "1"), ("b/c", "2")]), ..Default::default() };
    c.kvs_modify("incus", &change).await.unwrap();
    let all = c.kvs_list().await.unwrap();
    assert!(all.iter().any(|s| s.name == "incus"), "{all:?}");
    let store = c.kvs_get("incus").await.unwrap();
    assert_eq!(store[0].props.get("b/c").map(String::as_str), Some("2"));

    let change = PropsModify { delete_props: vec!["a".to_string()], ..Default::default() };
    c.kvs_modify("incus", &change).await.unwrap();
    assert!(!c.kvs_get("incus").await.unwrap()[0].props.contains_key("a"));

    c.kvs_delete("incus").await.unwrap();
    let after = c.kvs_get("incus").await;
    match after {
        Ok(list) => assert!(list.iter().all(|s| s.props.is_empty()), "{list:?}"),
        Err(err) => assert!(err.is_not_found(), "{err:?}"),
    }
}

#[tokio::test]
async fn an_unknown_endpoint_is_not_found() {
    let ctl = TestController::start("unknown").await;
    let err = ctl.client.get_json::<serde_json::Value>(&["v1", "no-such-thing"], &[]).await.unwrap_err();
    assert!(
        matches!(err, Error::NotFound(ref list) if list.iter().any(|rc| rc.is(UNKNOWN_API_CALL))),
        "{err:?}"
    );
}

#[tokio::test]
async fn resources_views_and_size_queries() {
    use linstor_api::{Resource, ResourceCreate, ResourceMakeAvailable};
    let ctl = TestController::start("rscs").await;
    let c = &ctl.client;
    for (name, address) in [("alpha", "127.0.0.1"), ("beta", "127.0.0.2")] {
        c.node_create(&node(name, address)).await.unwrap();
        let pool = StoragePool {
            storage_pool_name: "pool1".to_string(),
            provider_kind: "FILE_THIN".to_string(),
            props: props(&[("StorDriver/FileDir", "/srv/pool1")]),
            ..Default::default()
        };
        c.storage_pool_create(name, &pool).await.unwrap();
    }
    c.resource_definition_create(&rd("rd1")).await.unwrap();
    let vd = VolumeDefinitionCreate {
        volume_definition: VolumeDefinition { size_kib: 1024 * 1024, ..Default::default() },
        ..Default::default()
    };
    c.volume_definition_create("rd1", &vd).await.unwrap();

    let create = ResourceCreate {
        resource: Resource {
            name: "rd1".to_string(),
            node_name: "alpha".to_string(),
            props: props(&[("StorPoolName", "pool1")]),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = c.resource_create_on_node("rd1", "alpha", &create).await.unwrap();
    assert!(rc_is(&answer, CREATED), "{answer:?}");
    let err = c.resource_create_on_node("rd1", "alpha", &create).await.unwrap_err();
    assert!(err.is(FAIL_EXISTS_RSC), "{err:?}");
    let err = c.resource_create_on_node("nope", "alpha", &create).await.unwrap_err();
    assert!(err.is(FAIL_NOT_FOUND_RSC_DFN), "{err:?}");

    let got = c.resource_get("rd1", "alpha").await.unwrap();
    assert_eq!((got.resource.name.as_str(), got.resource.node_name.as_str()), ("rd1", "alpha"));
    let listed = c.resource_list("rd1", &ListOpts::new()).await.unwrap();
    assert_eq!(listed.len(), 1);
    let volumes = c.volume_list("rd1", "alpha").await.unwrap();
    assert_eq!(volumes.len(), 1);
    assert_eq!(volumes[0].storage_pool_name.as_deref(), Some("pool1"));
    let err = c.resource_get("rd1", "beta").await.unwrap_err();
    assert!(err.is_not_found() && err.is(FAIL_NOT_FOUND_RSC), "{err:?}");

    let view = c.resource_view(&ListOpts::new().node("alpha").resource("rd1")).await.unwrap();
    assert_eq!(view.len(), 1);
    assert_eq!(view[0].volumes.len(), 1);
    assert!(c.resource_view(&ListOpts::new().node("beta")).await.unwrap().is_empty());
    assert_eq!(c.resource_view(&ListOpts::new().storage_pool("pool1")).await.unwrap().len(), 1);

    // make-available where the resource already is changes nothing and is no error.
    c.resource_make_available("rd1", "alpha", &ResourceMakeAvailable::default()).await.unwrap();

    // The size queries: without satellites no pool reports capacity, so either no candidate or
    // "not enough nodes" is a right answer; what matters is that both decode.
    let filter = AutoSelectFilter { place_count: Some(1), ..Default::default() };
    for result in
        [c.query_max_volume_size(&filter).await, c.resource_group_query_max_volume_size("DfltRscGrp").await]
    {
        match result {
            Ok(sizes) => assert!(sizes.candidates.iter().all(|c| c.max_volume_size_kib.is_some())),
            Err(err) => assert!(err.is(FAIL_NOT_ENOUGH_NODES), "{err:?}"),
        }
    }

    let answer = c.resource_delete("rd1", "alpha", false).await.unwrap();
    assert!(rc_is(&answer, DELETED), "{answer:?}");
    assert!(c.resource_list("rd1", &ListOpts::new()).await.unwrap().is_empty());
}
