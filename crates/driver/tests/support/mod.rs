//! Fixtures of the driver's real-device tests.
//!
//! [`Cluster::start`] runs `strand up` on a free port with its data and device directories in a
//! temporary directory of its own, or, when `STRAND_TEST_CONTROLLER` (URL) and
//! `STRAND_TEST_NODE` (this host's LINSTOR node) are set, uses that controller instead
//! (`STRAND_TEST_STORAGE_POOL` names the storage pool, default `DfltStorPool`). Dropping the
//! cluster always cleans up, even after a failed assertion: it unmounts everything under its
//! directory, deletes every resource definition and resource group it made, stops strand,
//! detaches the loop devices whose backing file is under its directory and removes it.
//!
//! [`FaultProxy`] sits between the driver and the controller and answers a chosen request with
//! a LINSTOR error; [`FaultyHost`] wraps the real host operations and makes a chosen one fail.

#![allow(dead_code)]

use driver::{Driver, DriverSettings, Filesystem, HostError, HostOps, RealHost};
use linstor_client::{Client, ListOpts};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn strand_binary() -> PathBuf {
    match std::env::var_os("STRAND_BIN") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join("target/debug/strand"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A LINSTOR controller for one test: its own `strand up`, or an external one.
pub struct Cluster {
    pub rt: tokio::runtime::Runtime,
    pub url: String,
    pub node: String,
    pub storage_pool: String,
    pub root: PathBuf,
    pub state_dir: PathBuf,
    /// True for our own `strand up` (its pool directory and loop devices can be checked).
    pub local: bool,
    /// True when the controller is Strand's (its version reads `strand-...`).
    pub strand: bool,
    pub client: Client,
    tag: String,
    child: Option<Child>,
    groups: Mutex<BTreeSet<String>>,
}

impl Cluster {
    /// `None` (after printing why) when the test cannot run here.
    pub fn start(tag: &str) -> Option<Cluster> {
        if !is_root() {
            eprintln!("skipping {tag}: the driver tests need root (loop devices, mkfs, mount)");
            return None;
        }
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let unique = format!("{tag}-{}-{n}", std::process::id());
        let root = PathBuf::from(format!("/tmp/strand-driver-{unique}"));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create the test directory");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let external = std::env::var("STRAND_TEST_CONTROLLER").ok().filter(|v| !v.is_empty());
        let storage_pool = std::env::var("STRAND_TEST_STORAGE_POOL")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or("DfltStorPool".into());
        let (url, node, child, local) = match external {
            Some(url) => {
                let Some(node) = std::env::var("STRAND_TEST_NODE").ok().filter(|v| !v.is_empty()) else {
                    eprintln!("skipping {tag}: STRAND_TEST_CONTROLLER is set but STRAND_TEST_NODE (this host's LINSTOR node) is not");
                    let _ = std::fs::remove_dir_all(&root);
                    return None;
                };
                (url, node, None, false)
            }
            None => {
                let binary = strand_binary();
                if !binary.exists() {
                    eprintln!(
                        "skipping {tag}: no strand binary at {} (build it with `cargo build -p strand`, or set STRAND_BIN)",
                        binary.display()
                    );
                    let _ = std::fs::remove_dir_all(&root);
                    return None;
                }
                let port = free_port();
                let node = format!("drv-{}", unique.replace('_', "-"));
                let log = std::fs::File::create(root.join("strand.log")).expect("strand log");
                let child = Command::new(&binary)
                    .arg("up")
                    .args(["--listen", &format!("127.0.0.1:{port}")])
                    .arg("--data-dir")
                    .arg(root.join("data"))
                    .arg("--dev-dir")
                    .arg(root.join("dev"))
                    .args(["--node-name", &node])
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().expect("log"))
                    .stderr(log)
                    .spawn()
                    .expect("start strand up");
                (format!("http://127.0.0.1:{port}"), node, Some(child), true)
            }
        };
        let client = Client::builder().controller(url.clone()).build().expect("client");
        let mut cluster = Cluster {
            rt,
            url,
            node,
            storage_pool,
            state_dir: root.join("state"),
            root,
            local,
            strand: false,
            client,
            tag: tag.replace('_', "-"),
            child,
            groups: Mutex::new(BTreeSet::new()),
        };
        cluster.wait_online();
        let version = cluster.rt.block_on(cluster.client.controller_version()).expect("controller version");
        cluster.strand = version.version.as_deref().is_some_and(|v| v.starts_with("strand"));
        Some(cluster)
    }

    fn wait_online(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let node = self.rt.block_on(self.client.node_get(&self.node));
            if let Ok(node) = node {
                if node.connection_status.as_deref() == Some("ONLINE") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the controller at {} did not come up: {}",
                self.url,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("strand.log")).unwrap_or_default()
    }

    /// A name unique to this test run, recorded as a resource group to clean up.
    pub fn group_name(&self, what: &str) -> String {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}-{what}-{n}", &self.tag[..self.tag.len().min(12)]);
        self.groups.lock().expect("groups").insert(name.clone());
        name
    }

    /// Records a resource group made outside [`Cluster::group_name`].
    pub fn track_group(&self, name: &str) {
        self.groups.lock().expect("groups").insert(name.to_string());
    }

    pub fn settings(&self) -> DriverSettings {
        let mut settings = DriverSettings::new(&self.state_dir).satellite_name(&self.node);
        settings.busy_retries = 10;
        settings.busy_interval = Duration::from_millis(200);
        settings
    }

    /// A driver on the real host.
    pub fn driver(&self) -> Driver {
        self.driver_with(self.client.clone(), Arc::new(RealHost::new()))
    }

    pub fn driver_with(&self, client: Client, host: Arc<dyn HostOps>) -> Driver {
        Driver::new(client, host, self.settings()).expect("driver")
    }

    /// The pool config every test uses: one replica in the test storage pool.
    pub fn pool_config(&self) -> driver::Config {
        [
            ("linstor.resource_group.place_count".to_string(), "1".to_string()),
            ("linstor.resource_group.storage_pool".to_string(), self.storage_pool.clone()),
        ]
        .into()
    }

    /// Directory of the local FILE_THIN pool (our own strand only).
    pub fn pool_files_dir(&self) -> PathBuf {
        self.root.join("data/pools/DfltStorPool")
    }

    /// Files of resource `rd` in the local pool directory.
    pub fn files_of(&self, rd: &str) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.pool_files_dir()) else { return Vec::new() };
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{rd}_")))
            })
            .collect()
    }

    /// Loop devices whose backing file belongs to resource `rd`.
    pub fn loops_of(&self, rd: &str) -> Vec<(String, PathBuf)> {
        loops().into_iter().filter(|(_, file)| file.to_string_lossy().contains(&format!("/{rd}_"))).collect()
    }

    /// Resource definitions of a group.
    pub fn definitions_of(&self, group: &str) -> Vec<linstor_api::ResourceDefinition> {
        self.rt
            .block_on(self.client.resource_definition_list(&ListOpts::new()))
            .expect("list resource definitions")
            .into_iter()
            .filter(|rd| rd.resource_group_name.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(group)))
            .collect()
    }

    fn cleanup_linstor(&self) {
        let groups: BTreeSet<String> = self
            .groups
            .lock()
            .map(|g| g.iter().map(|n| n.to_ascii_uppercase()).collect())
            .unwrap_or_default();
        let client = self.client.clone();
        let local = self.local;
        self.rt.block_on(async move {
            if let Ok(rds) = client.resource_definition_list(&ListOpts::new()).await {
                for rd in rds {
                    let ours = local
                        || rd
                            .resource_group_name
                            .as_deref()
                            .is_some_and(|g| groups.contains(&g.to_ascii_uppercase()));
                    if ours {
                        for _ in 0..20 {
                            match client.resource_definition_delete(&rd.name).await {
                                Ok(_) => break,
                                Err(err) if err.is_not_found() => break,
                                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                            }
                        }
                    }
                }
            }
            if let Ok(list) = client.resource_group_list(&ListOpts::new()).await {
                for rg in list {
                    if groups.contains(&rg.name.to_ascii_uppercase()) {
                        let _ = client.resource_group_delete(&rg.name).await;
                    }
                }
            }
        });
    }

    fn stop_strand(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        unmount_under(&self.state_dir);
        self.cleanup_linstor();
        self.stop_strand();
        // strand leaves its pool filesystem (an XFS image on a loop device) mounted under the
        // data directory, and the loop devices of volume files on it attached: detach them
        // (a mounted one goes when it is unmounted) and unmount, until nothing is left.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left: Vec<(String, PathBuf)> =
                loops().into_iter().filter(|(_, f)| f.starts_with(&self.root)).collect();
            let mounted = mounts_under(&self.root);
            if left.is_empty() && mounted.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                eprintln!("cleanup: left behind: loop devices {left:?}, mounts {mounted:?}");
                break;
            }
            for (dev, _) in &left {
                let _ = Command::new("losetup").args(["-d", dev]).stderr(Stdio::null()).status();
            }
            unmount_under(&self.root);
            std::thread::sleep(Duration::from_millis(50));
        }
        if mounts_under(&self.root).is_empty() {
            let _ = std::fs::remove_dir_all(&self.root);
        } else {
            eprintln!("cleanup: not removing {}: mounts remain", self.root.display());
        }
    }
}

/// Loop devices and their backing files (from sysfs).
pub fn loops() -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("loop") {
            continue;
        }
        if let Ok(file) = std::fs::read_to_string(entry.path().join("loop/backing_file")) {
            let file = file.trim().trim_end_matches(" (deleted)").to_string();
            found.push((format!("/dev/{name}"), PathBuf::from(file)));
        }
    }
    found
}

/// Mount points under `root`, deepest first.
pub fn mounts_under(root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> =
        driver::host::mount_points().into_iter().filter(|m| m.starts_with(root)).collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found
}

/// Unmounts everything under `root`, deepest first. Never lazily: a lazily detached
/// filesystem that still backs loop devices would outlive the test unseen.
fn unmount_under(root: &Path) {
    for mount in mounts_under(root) {
        let _ = Command::new("umount").arg(&mount).stderr(Stdio::null()).status();
    }
}

/// The filesystem type and size (bytes) of what is mounted at `path`.
pub fn mounted_fs(path: &Path) -> Option<(String, u64)> {
    let out = Command::new("findmnt")
        .args(["-n", "-b", "-o", "FSTYPE,SIZE", "--mountpoint"])
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let fstype = parts.next()?.to_string();
    let size = parts.next()?.parse().ok()?;
    Some((fstype, size))
}

/// Mount options of what is mounted at `path`.
pub fn mount_options(path: &Path) -> String {
    Command::new("findmnt")
        .args(["-n", "-o", "OPTIONS", "--mountpoint"])
        .arg(path)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// `blkid` TYPE of a device.
pub fn blkid_type(device: &Path) -> Option<String> {
    RealHost::new().probe_filesystem(device).ok().flatten()
}

pub fn device_size(device: &Path) -> u64 {
    RealHost::new().device_size(device).expect("device size")
}

// ---- a host whose chosen operation fails ----------------------------------------------------

/// The real host, except that the `nth` call of a chosen operation fails.
#[derive(Debug, Default)]
pub struct FaultyHost {
    real: RealHost,
    plan: Mutex<HashMap<&'static str, u32>>,
    calls: Mutex<HashMap<&'static str, u32>>,
}

impl FaultyHost {
    pub fn new() -> FaultyHost {
        FaultyHost::default()
    }

    /// Makes the `nth` (1-based) call of `op` fail (`mkfs`, `mount`, `probe_filesystem`, ...).
    pub fn fail(&self, op: &'static str, nth: u32) {
        self.plan.lock().expect("plan").insert(op, nth);
        self.calls.lock().expect("calls").remove(op);
    }

    pub fn clear(&self) {
        self.plan.lock().expect("plan").clear();
        self.calls.lock().expect("calls").clear();
    }

    pub fn calls(&self, op: &'static str) -> u32 {
        self.calls.lock().expect("calls").get(op).copied().unwrap_or(0)
    }

    fn check(&self, op: &'static str) -> Result<(), HostError> {
        let mut calls = self.calls.lock().expect("calls");
        let count = calls.entry(op).or_insert(0);
        *count += 1;
        if self.plan.lock().expect("plan").get(op) == Some(count) {
            return Err(HostError::Failed {
                command: op.to_string(),
                status: "injected".into(),
                output: "injected failure".into(),
            });
        }
        Ok(())
    }
}

impl HostOps for FaultyHost {
    fn mkfs(&self, device: &Path, fs: Filesystem, options: &[String]) -> Result<(), HostError> {
        self.check("mkfs")?;
        self.real.mkfs(device, fs, options)
    }
    fn probe_filesystem(&self, device: &Path) -> Result<Option<String>, HostError> {
        self.check("probe_filesystem")?;
        self.real.probe_filesystem(device)
    }
    fn mount(&self, device: &Path, target: &Path, fs: Filesystem, options: &str) -> Result<(), HostError> {
        self.check("mount")?;
        self.real.mount(device, target, fs, options)
    }
    fn unmount(&self, target: &Path) -> Result<(), HostError> {
        self.check("unmount")?;
        self.real.unmount(target)
    }
    fn is_mounted(&self, target: &Path) -> Result<bool, HostError> {
        self.check("is_mounted")?;
        self.real.is_mounted(target)
    }
    fn flush_device(&self, device: &Path) -> Result<(), HostError> {
        self.check("flush_device")?;
        self.real.flush_device(device)
    }
    fn sync_filesystem(&self, path: &Path) -> Result<(), HostError> {
        self.check("sync_filesystem")?;
        self.real.sync_filesystem(path)
    }
    fn device_size(&self, device: &Path) -> Result<u64, HostError> {
        self.check("device_size")?;
        self.real.device_size(device)
    }
    fn grow_filesystem(&self, fs: Filesystem, device: &Path, mount: Option<&Path>) -> Result<(), HostError> {
        self.check("grow_filesystem")?;
        self.real.grow_filesystem(fs, device, mount)
    }
    fn shrink_filesystem(
        &self,
        fs: Filesystem,
        device: &Path,
        mount: Option<&Path>,
        size: u64,
    ) -> Result<(), HostError> {
        self.check("shrink_filesystem")?;
        self.real.shrink_filesystem(fs, device, mount, size)
    }
    fn regenerate_uuid(&self, fs: Filesystem, device: &Path) -> Result<(), HostError> {
        self.check("regenerate_uuid")?;
        self.real.regenerate_uuid(fs, device)
    }
    fn move_gpt_alt_header(&self, device: &Path) -> Result<(), HostError> {
        self.check("move_gpt_alt_header")?;
        self.real.move_gpt_alt_header(device)
    }
    fn can_grow_mounted(&self, fs: Filesystem) -> bool {
        self.real.can_grow_mounted(fs)
    }
}

// ---- a controller proxy that fails a chosen request -----------------------------------------

struct Rule {
    method: String,
    pattern: Vec<String>,
    nth: u32,
    seen: u32,
    /// Forward the request first: the controller does the work, its answer is lost.
    after: bool,
}

#[derive(Default)]
struct ProxyState {
    target: String,
    rules: Mutex<Vec<Rule>>,
    /// `resource_definition_name` of every spawn request seen.
    spawned: Mutex<Vec<String>>,
    http: reqwest::Client,
}

/// An HTTP proxy in front of the controller: forwards every request, except that the `nth`
/// request matching a rule is answered with a LINSTOR error (not forwarded, or forwarded and
/// its answer replaced).
pub struct FaultProxy {
    pub url: String,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

/// `*` matches one path segment; the query is ignored.
fn path_matches(pattern: &[String], path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    segments.len() == pattern.len() && pattern.iter().zip(&segments).all(|(p, s)| p == "*" || p == s)
}

async fn proxy_handler(
    axum::extract::State(state): axum::extract::State<Arc<ProxyState>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let method = request.method().as_str().to_string();
    let path_and_query = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let path = request.uri().path().to_string();
    // None: forward; Some(after): fail, after forwarding or instead of it.
    let fail = {
        let mut rules = state.rules.lock().expect("rules");
        let mut fail = None;
        for rule in rules.iter_mut() {
            if rule.method == method && path_matches(&rule.pattern, &path) {
                rule.seen += 1;
                if rule.seen == rule.nth {
                    fail = Some(rule.after);
                }
            }
        }
        fail
    };
    let respond = |status: u16, body: Vec<u8>| {
        axum::response::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .expect("response")
    };
    let injected = || {
        let body = serde_json::json!([{
            "ret_code": linstor_api::consts::FAIL_UNKNOWN_ERROR,
            "message": format!("injected failure of {method} {path}"),
        }]);
        respond(500, body.to_string().into_bytes())
    };
    let body = match axum::body::to_bytes(request.into_body(), usize::MAX).await {
        Ok(body) => body,
        Err(err) => return respond(502, format!("proxy: {err}").into_bytes()),
    };
    if path.ends_with("/spawn") {
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if let Some(name) = request["resource_definition_name"].as_str() {
            state.spawned.lock().expect("spawned").push(name.to_string());
        }
    }
    if fail == Some(false) {
        return injected();
    }
    let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else {
        return respond(405, Vec::new());
    };
    let mut forward = state.http.request(method, format!("{}{path_and_query}", state.target));
    if !body.is_empty() {
        forward = forward.header("content-type", "application/json").body(body);
    }
    match forward.send().await {
        Ok(_) if fail == Some(true) => injected(),
        Ok(answer) => {
            let status = answer.status().as_u16();
            let bytes = answer.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            respond(status, bytes)
        }
        Err(err) => respond(502, format!("proxy: {err}").into_bytes()),
    }
}

impl FaultProxy {
    /// Starts a proxy to `target` on the current runtime.
    pub async fn start(target: &str) -> FaultProxy {
        let state = Arc::new(ProxyState {
            target: target.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().no_proxy().build().expect("http client"),
            ..Default::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let app = axum::Router::new().fallback(proxy_handler).with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultProxy { url, state, task }
    }

    pub fn client(&self) -> Client {
        Client::builder().controller(self.url.clone()).build().expect("proxy client")
    }

    /// Fails the `nth` (1-based) request of `method` to a path matching `pattern` (segments,
    /// `*` for any one segment), e.g. `PUT v1/resource-definitions/*`.
    pub fn fail(&self, method: &str, pattern: &str, nth: u32) {
        self.add_rule(method, pattern, nth, false);
    }

    /// Like [`FaultProxy::fail`], but the request reaches the controller first: the work is
    /// done and only its answer is lost.
    pub fn fail_after(&self, method: &str, pattern: &str, nth: u32) {
        self.add_rule(method, pattern, nth, true);
    }

    fn add_rule(&self, method: &str, pattern: &str, nth: u32, after: bool) {
        let pattern = pattern.trim_start_matches('/').split('/').map(str::to_string).collect();
        self.state.rules.lock().expect("rules").push(Rule {
            method: method.to_string(),
            pattern,
            nth,
            seen: 0,
            after,
        });
    }

    pub fn clear(&self) {
        self.state.rules.lock().expect("rules").clear();
        self.state.spawned.lock().expect("spawned").clear();
    }

    /// The resource definition names of the spawns seen since the last clear.
    pub fn spawned(&self) -> Vec<String> {
        self.state.spawned.lock().expect("spawned").clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
