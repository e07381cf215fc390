//! Answers from newer controllers: unknown fields, layer types, providers and flags decode.

mod common;

use common::{json_response, Server};
use linstor_client::{Client, ListOpts};

fn handler(request: &str) -> String {
    let path = request.split_whitespace().nth(1).unwrap_or("");
    if path.starts_with("/v1/view/resources") {
        json_response(
            200,
            r#"[{
                "name": "rd1", "node_name": "n1", "brand_new_field": {"x": [1, 2]},
                "flags": ["SOME_FUTURE_FLAG"],
                "layer_object": {
                    "type": "QUANTUM", "quantum": {"entangled": true},
                    "children": [{"type": "STORAGE", "storage": {"storage_volumes": [
                        {"volume_number": 0, "device_path": "/dev/x", "future": 1}]}}]
                },
                "state": {"in_use": false, "future_state": "x"},
                "volumes": [{
                    "volume_number": 0, "provider_kind": "HOLOGRAPHIC",
                    "layer_data_list": [{"type": "QUANTUM", "data": {"qubits": 3}},
                                        {"type": "STORAGE", "data": {"volume_number": 0}}],
                    "state": {"disk_state": "UpToDate", "new": true},
                    "reports": [{"ret_code": 0, "message": "ok", "new_report_field": 1}]
                }]
            }]"#,
        )
    } else if path.starts_with("/v1/nodes") {
        json_response(
            200,
            r#"[{"name": "n1", "type": "SATELLITE", "connection_status": "ONLINE",
                 "net_interfaces": [{"name": "default", "address": "127.0.0.1", "satellite_port": 3366,
                                     "satellite_encryption_type": "PLAIN", "is_active": true, "mtu": 9000}],
                 "unsupported_layers": {"QUANTUM": ["no kernel module"]},
                 "some_2030_field": "value"}]"#,
        )
    } else if path.starts_with("/v1/resource-definitions") {
        json_response(
            200,
            r#"[{"name": "rd1", "resource_group_name": "DfltRscGrp",
                 "layer_data": [{"type": "QUANTUM", "data": {"whatever": 1}},
                                {"type": "DRBD", "data": {"port": 7000, "new_drbd_field": 2}}],
                 "volume_definitions": [{"volume_number": 0, "size_kib": 1024,
                     "layer_data": [{"type": "QUANTUM"}], "unknown": null}],
                 "new_top_level": 5}]"#,
        )
    } else {
        json_response(404, "[]")
    }
}

#[tokio::test]
async fn unknown_fields_and_layer_types_decode() {
    let server = Server::start(handler).await;
    let client = Client::new(&server.url()).unwrap();

    let resources = client.resource_view(&ListOpts::new()).await.unwrap();
    let rsc = &resources[0];
    assert_eq!(rsc.resource.name, "rd1");
    assert_eq!(rsc.resource.flags, ["SOME_FUTURE_FLAG"]);
    let layer = rsc.resource.layer_object.as_ref().unwrap();
    assert_eq!(layer.layer_type, "QUANTUM");
    assert_eq!(layer.children[0].layer_type, "STORAGE");
    let vlm = &rsc.volumes[0];
    assert_eq!(vlm.provider_kind.as_deref(), Some("HOLOGRAPHIC"));
    assert_eq!(vlm.layer_data_list[0].layer_type, "QUANTUM");
    assert_eq!(vlm.layer_data_list[0].data.as_ref().unwrap()["qubits"], 3);

    let nodes = client.node_list(&ListOpts::new()).await.unwrap();
    assert_eq!(nodes[0].net_interfaces[0].address, "127.0.0.1");
    assert_eq!(nodes[0].unsupported_layers["QUANTUM"], ["no kernel module"]);

    let rds = client.resource_definition_list(&ListOpts::new()).await.unwrap();
    assert_eq!(rds[0].layer_data.len(), 2);
    assert_eq!(rds[0].layer_data[1].data.as_ref().unwrap().port, Some(7000));
    assert_eq!(rds[0].volume_definitions[0].size_kib, 1024);
}
