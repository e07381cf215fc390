//! Failover, timeouts, tokens and status handling against local servers.

mod common;

use common::{closed_port, json_response, Server, SilentServer};
use linstor_api::consts::*;
use linstor_client::{Client, ClientBuilder, Error, ListOpts, TransportKind};
use std::time::{Duration, Instant};

fn version(_: &str) -> String {
    json_response(200, r#"{"version":"1.0","rest_api_version":"1.28.0"}"#)
}

#[tokio::test]
async fn fails_over_to_the_second_controller_and_remembers_it() {
    let server = Server::start(version).await;
    let down = format!("127.0.0.1:{}", closed_port());
    let client = ClientBuilder::new()
        .controllers([down.clone(), server.url()])
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    assert_eq!(client.current_controller().port, client.controllers()[0].port);
    let v = client.controller_version().await.unwrap();
    assert_eq!(v.rest_api_version.as_deref(), Some("1.28.0"));
    assert_eq!(client.current_controller().port, server.port, "the working controller is remembered");
    client.controller_version().await.unwrap();
    assert_eq!(server.request_count(), 2);
    // The comma-separated helper takes the same path.
    let client = Client::new(&format!("linstor://{down},{}", server.url())).unwrap();
    client.controller_version().await.unwrap();
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn says_which_controllers_were_tried_when_none_answers() {
    let a = format!("127.0.0.1:{}", closed_port());
    let b = format!("http://127.0.0.1:{}", closed_port());
    let client = Client::new(&format!("{a},{b}")).unwrap();
    let err = client.node_list(&ListOpts::new()).await.unwrap_err();
    match &err {
        Error::Transport { kind, tried, .. } => {
            assert_eq!(*kind, TransportKind::Connect);
            assert_eq!(tried, &[format!("http://{a}"), b.clone()]);
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("cannot connect") && text.contains(&a), "{text}");
}

#[tokio::test]
async fn a_controller_that_never_answers_times_out() {
    let silent = SilentServer::start().await;
    let client = ClientBuilder::new()
        .controller(format!("127.0.0.1:{}", silent.port))
        .timeout(Duration::from_millis(700))
        .build()
        .unwrap();
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(10), client.controller_version())
        .await
        .expect("the client's own timeout must end the call");
    let elapsed = started.elapsed();
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(err.to_string().contains("did not answer"), "{err}");
}

#[tokio::test]
async fn a_timeout_is_not_retried_on_another_controller() {
    // The request reached the silent controller: sending it again elsewhere could apply a
    // mutation twice.
    let silent = SilentServer::start().await;
    let other = Server::start(version).await;
    let client = ClientBuilder::new()
        .controllers([format!("127.0.0.1:{}", silent.port), other.url()])
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    assert!(client.controller_version().await.unwrap_err().is_timeout());
    assert_eq!(other.request_count(), 0);
}

#[tokio::test]
async fn sends_the_bearer_token_and_json_bodies() {
    fn created(_: &str) -> String {
        json_response(
            201,
            &format!(
                r#"[{{"ret_code":{},"message":"New node 'n1' registered."}}]"#,
                MASK_NODE | MASK_CRT | CREATED
            ),
        )
    }
    let server = Server::start(created).await;
    let client = ClientBuilder::new().controller(server.url()).bearer_token("s3cret").build().unwrap();
    let node = linstor_api::Node { name: "n1".into(), node_type: "satellite".into(), ..Default::default() };
    let answer = client.node_create(&node).await.unwrap();
    assert_eq!(answer[0].message, "New node 'n1' registered.");
    let request = server.requests.lock().unwrap()[0].clone();
    assert!(request.starts_with("POST /v1/nodes HTTP/1.1"), "{request}");
    let lower = request.to_ascii_lowercase();
    assert!(lower.contains("authorization: bearer s3cret"), "{request}");
    assert!(lower.contains("content-type: application/json"), "{request}");
    assert!(request.ends_with(r#"{"name":"n1","type":"satellite"}"#), "{request}");
}

#[tokio::test]
async fn reads_the_token_file() {
    let dir = common::TempDir::new("token");
    let path = dir.write("auth.json", r#"{"token": "from-file"}"#);
    let server = Server::start(version).await;
    let client = ClientBuilder::new().controller(server.url()).bearer_token_file(&path).build().unwrap();
    client.controller_version().await.unwrap();
    assert!(server.requests.lock().unwrap()[0]
        .to_ascii_lowercase()
        .contains("authorization: bearer from-file"));
    let bad = dir.write("bad.json", "token=x");
    let err = ClientBuilder::new().bearer_token_file(&bad).build().unwrap_err();
    assert!(err.to_string().contains("bad.json"), "{err}");
}

#[tokio::test]
async fn list_filters_go_into_the_query() {
    fn empty(_: &str) -> String {
        json_response(200, "[]")
    }
    let server = Server::start(empty).await;
    let client = Client::new(&server.url()).unwrap();
    let opts = ListOpts::new().resource_definition("rd1").prop("Aux/Incus/name=vol 1").page(0, 5);
    assert!(client.resource_definition_list(&opts).await.unwrap().is_empty());
    let request = server.requests.lock().unwrap()[0].clone();
    let first = request.lines().next().unwrap();
    assert_eq!(
        first,
        "GET /v1/resource-definitions?resource_definitions=rd1&props=Aux%2FIncus%2Fname%3Dvol+1&offset=0&limit=5 HTTP/1.1"
    );
}

#[tokio::test]
async fn answers_map_to_errors() {
    fn handler(request: &str) -> String {
        let path = request.split_whitespace().nth(1).unwrap_or("");
        match path {
            "/v1/nodes/missing" => json_response(
                404,
                &format!(
                    r#"[{{"ret_code":{},"message":"Node 'missing' not found."}}]"#,
                    MASK_ERROR | MASK_NODE | FAIL_NOT_FOUND_NODE
                ),
            ),
            "/v1/resource-definitions" => json_response(
                500,
                &format!(
                    r#"[{{"ret_code":{},"message":"Name '1x' is invalid.","cause":"It starts with a digit.","correction":"Start with a letter."}}]"#,
                    MASK_ERROR | MASK_RSC_DFN | MASK_CRT | FAIL_INVLD_RSC_NAME
                ),
            ),
            "/v1/resource-definitions/rd1" => json_response(
                200,
                &format!(
                    r#"[{{"ret_code":{},"message":"modified"}},{{"ret_code":{},"message":"satellite failed"}}]"#,
                    MASK_RSC_DFN | MASK_MOD | MODIFIED,
                    MASK_ERROR | MASK_RSC_DFN | FAIL_UNKNOWN_ERROR
                ),
            ),
            "/v1/resource-definitions/rd2" => json_response(
                200,
                &format!(
                    r#"[{{"ret_code":{},"message":"Resource definition 'rd2' not found."}}]"#,
                    MASK_WARN | MASK_RSC_DFN | MASK_DEL | WARN_NOT_FOUND
                ),
            ),
            _ => "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 8\r\nconnection: close\r\n\r\nupstream"
                .to_string(),
        }
    }
    let server = Server::start(handler).await;
    let client = Client::new(&server.url()).unwrap();

    let err = client.node_get("missing").await.unwrap_err();
    assert!(err.is_not_found() && err.is(FAIL_NOT_FOUND_NODE), "{err:?}");

    let create = linstor_api::ResourceDefinitionCreate {
        resource_definition: linstor_api::ResourceDefinition { name: "1x".into(), ..Default::default() },
        ..Default::default()
    };
    let err = client.resource_definition_create(&create).await.unwrap_err();
    assert!(matches!(err, Error::Api(_)) && err.is(FAIL_INVLD_RSC_NAME));
    assert_eq!(
        err.to_string(),
        "Name '1x' is invalid.; cause: It starts with a digit.; correction: Start with a letter."
    );

    // An error entry in a 200 answer is still an error.
    let err = client.resource_definition_modify("rd1", &Default::default()).await.unwrap_err();
    assert!(err.is(FAIL_UNKNOWN_ERROR) && err.has(MODIFIED));

    // Warnings are not errors: the list comes back.
    let answer = client.resource_definition_delete("rd2").await.unwrap();
    assert!(answer[0].is(WARN_NOT_FOUND));

    let err = client.controller_props().await.unwrap_err();
    assert!(matches!(err, Error::Http { status: 502, .. }), "{err:?}");
}

#[tokio::test]
async fn redirects_are_reported_not_followed() {
    fn redirect(_: &str) -> String {
        "HTTP/1.1 302 Found\r\nlocation: https://127.0.0.1:3371/v1/nodes\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .to_string()
    }
    let server = Server::start(redirect).await;
    let client = Client::new(&server.url()).unwrap();
    let node = linstor_api::Node { name: "n1".into(), ..Default::default() };
    let err = client.node_create(&node).await.unwrap_err();
    match &err {
        Error::Http { status: 302, body } => {
            assert!(
                body.contains("https://127.0.0.1:3371/v1/nodes") && body.contains("linstor+ssl://"),
                "{body}"
            )
        }
        other => panic!("expected the redirect to be reported, got {other:?}"),
    }
    assert_eq!(server.request_count(), 1);
}
