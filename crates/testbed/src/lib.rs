//! A Strand cluster on one machine for tests and benchmarks: satellites in network namespaces,
//! a controller in the root namespace, and a guard that always removes everything.
//!
//! Each satellite gets its own network namespace `strand-t-<pid>-<n>`, joined to the root
//! namespace by a veth pair on a private /30 of 10.213.0.0/16 chosen free at creation
//! (`.1` in the root namespace, `.2` inside), and its own data, pool and device-link
//! directories under the cluster's directory. The controller listens on 127.0.0.1.
//!
//! Rules:
//! - Addresses exist only on the veths this harness makes; nothing else in the root
//!   namespace changes, except an `unreachable` route per /30 (metric 4000) that keeps traffic
//!   for a satellite whose link is down from leaving through the default route.
//! - [`Cluster`]'s `Drop` always kills the processes, deletes the namespaces, veths and routes,
//!   detaches the loop devices whose backing files lie under the cluster's directory, and
//!   removes the directory. Leftovers of a run that was killed are removed by the next one.
//! - Children die with the process that started them (`PR_SET_PDEATHSIG`).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// The satellites' TCP port (LINSTOR's default).
pub const SATELLITE_PORT: u16 = 3366;
/// Route protocol number marking the harness's `unreachable` routes.
const ROUTE_PROTO: &str = "213";
const NETNS_PREFIX: &str = "strand-t-";

/// Why the harness cannot run here (not root, no `ip`, no loop devices, no namespaces);
/// `None` when it can.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespaces, loop devices)".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("no /dev/loop-control (the loop module is not loaded)".into());
    }
    static PROBE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    PROBE.get_or_init(probe_netns).clone()
}

/// Makes and removes one namespace with a veth pair: the harness's whole toolkit.
fn probe_netns() -> Option<String> {
    if let Err(err) = Command::new("ip").arg("-V").output() {
        return Some(format!("the `ip` tool is missing ({err}); install iproute2"));
    }
    let netns = format!("{NETNS_PREFIX}{}-probe", std::process::id());
    let veth = format!("stp{}", std::process::id() % 100_000);
    let peer = format!("{veth}x");
    let result = run("ip", &["netns", "add", &netns])
        .and_then(|_| run("ip", &["link", "add", &veth, "type", "veth", "peer", "name", &peer]))
        .and_then(|_| run("ip", &["link", "set", &peer, "netns", &netns]));
    let _ = run("ip", &["link", "del", &veth]);
    let _ = run("ip", &["netns", "del", &netns]);
    result.err().map(|err| format!("network namespaces do not work here: {err}"))
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("{program}: {err}"))?;
    if !out.status.success() {
        return Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Spawns `command` so that it is killed when this process dies.
fn spawn_tied(command: &mut Command) -> std::io::Result<Child> {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Holds a lock file for as long as it lives (serializes address allocation across processes).
struct FileLock(std::fs::File);

impl FileLock {
    fn take(path: &Path) -> Result<FileLock, String> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|err| format!("{}: {err}", path.display()))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(format!("cannot lock {}", path.display()));
        }
        Ok(FileLock(file))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes namespaces (with their processes and veths) and routes left by runs that died.
fn sweep_stale() {
    let Ok(list) = run("ip", &["netns", "list"]) else { return };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(rest) = name.strip_prefix(NETNS_PREFIX) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid_alive(pid) {
            continue;
        }
        kill_netns_processes(name);
        let _ = run("ip", &["netns", "del", name]);
    }
    // Routes of ours whose veth is gone.
    let addrs = run("ip", &["-o", "-4", "addr", "show"]).unwrap_or_default();
    let routes = run("ip", &["-4", "route", "show", "proto", ROUTE_PROTO]).unwrap_or_default();
    for line in routes.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("unreachable") {
            continue;
        }
        let Some(prefix) = words.next() else { continue };
        let Some(base) = prefix.strip_suffix("/30").and_then(|p| p.parse::<Ipv4Addr>().ok()) else {
            continue;
        };
        let host = Ipv4Addr::from(u32::from(base) + 1);
        if !addrs.contains(&format!("inet {host}/30")) {
            let _ =
                run("ip", &["route", "del", "unreachable", prefix, "proto", ROUTE_PROTO, "metric", "4000"]);
        }
    }
}

fn kill_netns_processes(netns: &str) {
    if let Ok(pids) = run("ip", &["netns", "pids", netns]) {
        for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            // SAFETY: plain kill of a process id.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Loop devices whose backing file lies under `dir`, as (device, backing file).
pub fn loops_under(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/sys/block") else { return found };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Ok(backing) = std::fs::read_to_string(entry.path().join("loop/backing_file")) else { continue };
        let backing = PathBuf::from(backing.trim().trim_end_matches(" (deleted)"));
        if backing.starts_with(dir) {
            found.push((format!("/dev/{name}"), backing));
        }
    }
    found.sort();
    found
}

/// Detaches every loop device backed by a file under `dir`, then removes those devices (free
/// loop devices stay in `/sys/block` otherwise, and every satellite scan walks them all). The
/// kernel refuses to remove a device that is bound or open, so one someone else took in the
/// meantime stays.
pub fn detach_loops_under(dir: &Path) {
    let mut ours = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let loops = loops_under(dir);
        if loops.is_empty() {
            break;
        }
        for (dev, _) in loops {
            let _ = run("losetup", &["-d", &dev]);
            ours.insert(dev);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    remove_free_loops(&ours);
}

fn remove_free_loops(devices: &std::collections::BTreeSet<String>) {
    use std::os::fd::AsRawFd;
    const LOOP_CTL_REMOVE: libc::c_ulong = 0x4C81;
    let Ok(control) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/loop-control") else {
        return;
    };
    // The devices the loop module makes at load time stay, as the system had them.
    let preset: libc::c_ulong = std::fs::read_to_string("/sys/module/loop/parameters/max_loop")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(8);
    for dev in devices {
        let Some(number) = dev.strip_prefix("/dev/loop").and_then(|n| n.parse::<libc::c_ulong>().ok()) else {
            continue;
        };
        if number < preset {
            continue;
        }
        // The detach may complete a moment later: retry while the device is still busy.
        for _ in 0..10 {
            // SAFETY: LOOP_CTL_REMOVE takes the device number by value.
            if unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_REMOVE as _, number) } == 0 {
                break;
            }
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::EBUSY) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|err| format!("no free port: {err}"))
}

/// One satellite in its own network namespace.
pub struct Satellite {
    pub name: String,
    pub netns: String,
    /// The veth end in the root namespace (take it down to cut the node off).
    pub host_veth: String,
    pub host_addr: Ipv4Addr,
    pub addr: Ipv4Addr,
    pub dir: PathBuf,
    pub dev_dir: PathBuf,
    /// Parent directory for this node's pool directories.
    pub pools_dir: PathBuf,
    prefix: String,
    child: Option<Child>,
    starts: u32,
}

impl Satellite {
    pub fn endpoint(&self) -> SocketAddr {
        SocketAddr::new(self.addr.into(), SATELLITE_PORT)
    }

    /// The process id of the running satellite.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The satellite's log so far (all starts).
    pub fn log(&self) -> String {
        let mut text = String::new();
        for start in 1..=self.starts {
            let path = self.dir.join(format!("satellite-{start}.log"));
            text.push_str(&std::fs::read_to_string(path).unwrap_or_default());
        }
        text
    }
}

/// A controller and satellites; everything is removed when dropped.
pub struct Cluster {
    pub dir: PathBuf,
    pub strand: PathBuf,
    pub satellites: Vec<Satellite>,
    pub rest: SocketAddr,
    controller: Option<Child>,
    controller_starts: u32,
    extra: Vec<Child>,
}

fn allocate_block(used_text: &str) -> Option<u32> {
    (0..16384u32).find(|block| {
        let base = Ipv4Addr::new(10, 213, (block / 64) as u8, ((block % 64) * 4) as u8);
        let probe = |offset: u32| format!("{}/", Ipv4Addr::from(u32::from(base) + offset));
        !used_text.contains(&format!(" {}", probe(0)))
            && !used_text.contains(&format!(" {}", probe(1)))
            && !used_text.contains(&format!(" {}", probe(2)))
            && !used_text.contains(&format!("{base}/30 "))
    })
}

impl Cluster {
    /// Makes the namespaces and starts one satellite per name and the controller.
    pub fn start(tag: &str, strand: &Path, names: &[&str]) -> Result<Cluster, String> {
        if let Some(why) = unavailable() {
            return Err(why);
        }
        sweep_stale();
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("strand-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
        let mut cluster = Cluster {
            dir,
            strand: strand.to_path_buf(),
            satellites: Vec::new(),
            rest: SocketAddr::from(([127, 0, 0, 1], 0)),
            controller: None,
            controller_starts: 0,
            extra: Vec::new(),
        };
        for name in names {
            cluster.add_satellite(name)?;
        }
        for i in 0..cluster.satellites.len() {
            cluster.start_satellite(i)?;
        }
        cluster.start_controller()?;
        Ok(cluster)
    }

    fn add_satellite(&mut self, name: &str) -> Result<(), String> {
        let k = SEQ.fetch_add(1, Ordering::Relaxed);
        let netns = format!("{NETNS_PREFIX}{}-{k}", std::process::id());
        let lock = FileLock::take(&std::env::temp_dir().join("strand-testbed-netns.lock"))?;
        let used = format!(
            "{}\n{}",
            run("ip", &["-o", "-4", "addr", "show"])?,
            run("ip", &["-4", "route", "show"])?
                .lines()
                .map(|l| format!(" {l} "))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let block = allocate_block(&used).ok_or("no free /30 left in 10.213.0.0/16")?;
        let base = u32::from(Ipv4Addr::new(10, 213, (block / 64) as u8, ((block % 64) * 4) as u8));
        let (host_addr, addr) = (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2));
        let prefix = format!("{}/30", Ipv4Addr::from(base));
        let host_veth = format!("stn{block}h");
        let inner_veth = format!("stn{block}s");
        let sat_dir = self.dir.join(name);
        let satellite = Satellite {
            name: name.to_string(),
            netns: netns.clone(),
            host_veth: host_veth.clone(),
            host_addr,
            addr,
            dev_dir: sat_dir.join("dev"),
            pools_dir: sat_dir.join("pools"),
            dir: sat_dir,
            prefix: prefix.clone(),
            child: None,
            starts: 0,
        };
        std::fs::create_dir_all(&satellite.pools_dir).map_err(|err| err.to_string())?;
        // Registered before the first command, so that Drop undoes whatever part was made.
        self.satellites.push(satellite);
        run("ip", &["netns", "add", &netns])?;
        run("ip", &["link", "add", &host_veth, "type", "veth", "peer", "name", &inner_veth])?;
        run("ip", &["link", "set", &inner_veth, "netns", &netns])?;
        run("ip", &["addr", "add", &format!("{host_addr}/30"), "dev", &host_veth])?;
        run("ip", &["link", "set", &host_veth, "up"])?;
        run("ip", &["route", "add", "unreachable", &prefix, "proto", ROUTE_PROTO, "metric", "4000"])?;
        drop(lock);
        let exec = |args: &[&str]| {
            let mut full = vec!["netns", "exec", netns.as_str(), "ip"];
            full.extend_from_slice(args);
            run("ip", &full)
        };
        exec(&["addr", "add", &format!("{addr}/30"), "dev", &inner_veth])?;
        exec(&["link", "set", &inner_veth, "up"])?;
        exec(&["link", "set", "lo", "up"])?;
        Ok(())
    }

    pub fn index(&self, name: &str) -> usize {
        self.satellites.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("no satellite {name}"))
    }

    pub fn satellite(&self, name: &str) -> &Satellite {
        &self.satellites[self.index(name)]
    }

    /// Starts (or restarts) satellite `i` in its namespace.
    pub fn start_satellite(&mut self, i: usize) -> Result<(), String> {
        let strand = self.strand.clone();
        let sat = &mut self.satellites[i];
        if sat.is_running() {
            return Ok(());
        }
        sat.starts += 1;
        let log = std::fs::File::create(sat.dir.join(format!("satellite-{}.log", sat.starts)))
            .map_err(|err| err.to_string())?;
        let listen = sat.endpoint().to_string();
        let child = spawn_tied(
            Command::new("ip")
                .args(["netns", "exec", &sat.netns])
                .arg(&strand)
                .args(["satellite", "--listen", &listen, "--node-name", &sat.name, "--data-dir"])
                .arg(sat.dir.join("data"))
                .arg("--dev-dir")
                .arg(&sat.dev_dir)
                .env("STRAND_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        )
        .map_err(|err| format!("cannot start the satellite {}: {err}", sat.name))?;
        sat.child = Some(child);
        // Listening once its namespace shows the socket.
        let started = Instant::now();
        loop {
            let listening = run("ip", &["netns", "exec", &sat.netns, "cat", "/proc/net/tcp"])
                .map(|t| t.contains(&format!(":{:04X} 00000000:0000 0A", SATELLITE_PORT)))
                .unwrap_or(false);
            if listening {
                return Ok(());
            }
            if !sat.is_running() || started.elapsed() > Duration::from_secs(20) {
                return Err(format!("satellite {} did not start:\n{}", sat.name, sat.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills satellite `i` with SIGKILL (its devices stay, as after a crash).
    pub fn kill_satellite(&mut self, i: usize) {
        if let Some(mut child) = self.satellites[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Takes the root-namespace end of satellite `i`'s link down (`up == false`) or up.
    pub fn set_link(&self, i: usize, up: bool) -> Result<(), String> {
        let veth = &self.satellites[i].host_veth;
        run("ip", &["link", "set", veth, if up { "up" } else { "down" }]).map(|_| ())
    }

    fn start_controller(&mut self) -> Result<(), String> {
        let port = free_port()?;
        self.rest = SocketAddr::from(([127, 0, 0, 1], port));
        self.controller_starts += 1;
        self.controller = Some(self.spawn_controller(self.rest, "controller", self.controller_starts)?);
        Ok(())
    }

    fn spawn_controller(&self, rest: SocketAddr, name: &str, start: u32) -> Result<Child, String> {
        let log =
            std::fs::File::create(self.dir.join(format!("{name}-{start}.log"))).map_err(|e| e.to_string())?;
        let child = spawn_tied(
            Command::new(&self.strand)
                .args(["controller", "--listen", &rest.to_string(), "--data-dir"])
                .arg(self.dir.join(name))
                .env("STRAND_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        )
        .map_err(|err| format!("cannot start the controller: {err}"))?;
        wait_http(rest).map_err(|err| format!("{err}\n{}", self.log(name)))?;
        Ok(child)
    }

    /// Starts another controller (killed with the cluster); answers its REST address.
    pub fn start_other_controller(&mut self, name: &str) -> Result<SocketAddr, String> {
        let rest = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let child = self.spawn_controller(rest, name, 1)?;
        self.extra.push(child);
        Ok(rest)
    }

    /// The log of the controller named `name` ("controller" for the main one).
    pub fn log(&self, name: &str) -> String {
        let mut text = String::new();
        for start in 1..=self.controller_starts.max(1) {
            text.push_str(
                &std::fs::read_to_string(self.dir.join(format!("{name}-{start}.log"))).unwrap_or_default(),
            );
        }
        text
    }

    /// The controller's REST URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.rest)
    }
}

/// Waits until `GET /health` answers on `addr`.
pub fn wait_http(addr: SocketAddr) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!("nothing answers GET /health on {addr}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for mut child in self.controller.take().into_iter().chain(self.extra.drain(..)) {
            let _ = child.kill();
            let _ = child.wait();
        }
        for i in 0..self.satellites.len() {
            self.kill_satellite(i);
        }
        for sat in &self.satellites {
            kill_netns_processes(&sat.netns);
            let _ = run("ip", &["netns", "del", &sat.netns]);
            let _ = run("ip", &["link", "del", &sat.host_veth]);
            let _ = run(
                "ip",
                &["route", "del", "unreachable", &sat.prefix, "proto", ROUTE_PROTO, "metric", "4000"],
            );
        }
        detach_loops_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_skip_used_addresses() {
        assert_eq!(allocate_block(""), Some(0));
        assert_eq!(allocate_block("inet 10.213.0.1/30 brd"), Some(1));
        assert_eq!(allocate_block(" inet 10.213.0.1/30 \n inet 10.213.0.6/30 "), Some(2));
        assert_eq!(allocate_block(" unreachable 10.213.0.0/30 proto 213 "), Some(1));
        // 10.213.0.10 is not 10.213.0.1
        assert_eq!(allocate_block(" inet 10.213.0.10/24"), Some(0));
    }
}
