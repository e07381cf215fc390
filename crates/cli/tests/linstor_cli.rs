//! `strand linstor` against a real `strand controller` process: tables (ASCII and UTF-8), `-m`,
//! the short aliases, `--show-props`, and errors with their exit codes.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STRAND: &str = env!("CARGO_BIN_EXE_strand");

/// A controller process on a free local port with its own data directory; killed, and the
/// directory removed, when dropped.
struct Controller {
    child: Child,
    dir: PathBuf,
    url: String,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

impl Controller {
    fn start(tag: &str) -> Controller {
        let dir = std::env::temp_dir().join(format!(
            "strand-cli-test-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("data dir");
        let port = free_port();
        let child = Command::new(STRAND)
            .args(["controller", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(&dir)
            .env("STRAND_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start strand controller");
        let controller = Controller { child, dir, url: format!("127.0.0.1:{port}") };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "the controller did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        controller
    }

    /// Runs `strand linstor --controllers <this> ARGS`.
    fn run(&self, args: &[&str]) -> Run {
        run_with(&["--controllers", &self.url], args, &[])
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }
}

fn run_with(global: &[&str], args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(STRAND);
    command.arg("linstor").args(global).args(args).env_remove("LS_CONTROLLERS").env("LANG", "C.UTF-8");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run strand linstor");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn setup_nodes(ctl: &Controller) {
    ctl.run(&["node", "create", "alpha", "127.0.0.1"]).ok();
    ctl.run(&["n", "c", "beta", "127.0.0.2", "--node-type", "combined"]).ok();
}

#[test]
fn node_list_in_ascii_by_default_and_in_box_characters_on_request() {
    let ctl = Controller::start("tables");
    setup_nodes(&ctl);
    let ascii = ctl.run(&["n", "l"]).ok().stdout;
    let utf8 = ctl.run(&["--utf8", "n", "l"]).ok().stdout;
    let expected_utf8 = "\
╭──────────────────────────────────────────────────────╮
┊ Node  ┊ NodeType  ┊ Addresses              ┊ State   ┊
╞══════════════════════════════════════════════════════╡
┊ alpha ┊ SATELLITE ┊ 127.0.0.1:3366 (PLAIN) ┊ OFFLINE ┊
┊ beta  ┊ COMBINED  ┊ 127.0.0.2:3366 (PLAIN) ┊ OFFLINE ┊
╰──────────────────────────────────────────────────────╯
";
    assert_eq!(utf8, expected_utf8);
    // The ASCII table has the same shape with + - | = (stdout is a pipe here, so ASCII is the
    // default).
    let to_ascii = |text: &str| -> String {
        text.chars()
            .map(|c| match c {
                '╭' | '╮' | '╰' | '╯' => '+',
                '─' => '-',
                '┊' | '╞' | '╡' => '|',
                '═' => '=',
                other => other,
            })
            .collect()
    };
    assert_eq!(ascii, to_ascii(expected_utf8));
    assert!(ascii.starts_with("+-----"), "{ascii}");
    // The frame width follows Σ widths + 3 · columns − 1 on every line.
    for line in utf8.lines() {
        assert_eq!(line.chars().count(), 5 + 9 + 22 + 7 + 3 * 4 + 1, "{line}");
    }
    // --no-utf8 forces ASCII, and the global flags may come after the command too.
    assert_eq!(ctl.run(&["--no-utf8", "n", "l"]).ok().stdout, ascii);
    assert_eq!(ctl.run(&["n", "l", "--utf8"]).ok().stdout, expected_utf8);
    // An empty list is a table without rows.
    let empty = ctl.run(&["n", "l", "--nodes", "gamma"]).ok().stdout;
    assert_eq!(empty.lines().count(), 4, "{empty}");
}

#[test]
fn machine_readable_output_is_the_controllers_json() {
    let ctl = Controller::start("json");
    setup_nodes(&ctl);
    let out = ctl.run(&["-m", "n", "l"]).ok().stdout;
    let nodes: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let names: Vec<&str> = nodes.as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(nodes[0]["net_interfaces"][0]["address"], "127.0.0.1");

    let out = ctl.run(&["-m", "rd", "c", "rd1"]).ok().stdout;
    let answer: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(answer[0]["ret_code"], linstor_api::consts::MASK_RSC_DFN | linstor_api::consts::MASK_CRT | 1);

    let failed = ctl.run(&["-m", "rd", "c", "rd1"]);
    assert_eq!(failed.code, 10);
    let answer: serde_json::Value = serde_json::from_str(&failed.stdout).expect("JSON");
    assert!(answer[0]["message"].as_str().unwrap().contains("rd1"), "{answer}");

    for args in [
        &["rd", "l"][..],
        &["vd", "l"],
        &["sp", "l"],
        &["rg", "l"],
        &["r", "l"],
        &["c", "v"],
        &["rd", "lp", "rd1"],
    ] {
        let mut all = vec!["--machine-readable"];
        all.extend_from_slice(args);
        let out = ctl.run(&all).ok().stdout;
        serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"));
    }
}

#[test]
fn long_names_and_short_aliases_are_the_same_commands() {
    let ctl = Controller::start("aliases");
    setup_nodes(&ctl);
    ctl.run(&["storage-pool", "create", "filethin", "alpha", "pool1", "/srv/pool1"]).ok();
    ctl.run(&["sp", "c", "file", "beta", "pool2", "/srv/pool2"]).ok();
    ctl.run(&["resource-group", "create", "grp", "--place-count", "1", "--storage-pool", "pool1"]).ok();
    ctl.run(&["rg", "m", "grp", "--description", "for tests"]).ok();
    ctl.run(&["resource-group", "spawn-resources", "grp", "sp1", "1G", "--definition-only"]).ok();
    ctl.run(&["rg", "spawn", "-d", "grp", "sp2", "100M"]).ok();
    ctl.run(&["resource-definition", "create", "rd1"]).ok();
    ctl.run(&["volume-definition", "create", "rd1", "10G"]).ok();
    ctl.run(&["vd", "c", "rd1", "500M"]).ok();
    ctl.run(&["volume-definition", "set-size", "rd1", "0", "20G"]).ok();
    ctl.run(&["vd", "size", "rd1", "1", "600M"]).ok();
    ctl.run(&["node", "set-property", "alpha", "Aux/site", "east"]).ok();
    ctl.run(&["rd", "sp", "rd1", "Aux/a", "1"]).ok();

    let pairs: &[(&[&str], &[&str])] = &[
        (&["node", "list"], &["n", "l"]),
        (&["node", "list-properties", "alpha"], &["n", "lp", "alpha"]),
        (&["storage-pool", "list"], &["sp", "l"]),
        (&["resource-group", "list"], &["rg", "l"]),
        (&["resource-definition", "list"], &["rd", "l"]),
        (&["resource-definition", "list-properties", "rd1"], &["rd", "lp", "rd1"]),
        (&["volume-definition", "list"], &["vd", "l"]),
        (&["resource", "list"], &["r", "l"]),
        (&["volume", "list"], &["v", "l"]),
        (&["snapshot", "list"], &["s", "l"]),
        (&["controller", "version"], &["c", "v"]),
    ];
    for (long, short) in pairs {
        let (a, b) = (ctl.run(long), ctl.run(short));
        assert_eq!((a.code, &a.stdout), (b.code, &b.stdout), "{long:?} vs {short:?}");
    }

    let sp = ctl.run(&["sp", "l"]).ok().stdout;
    assert!(sp.contains("| pool1                | alpha | FILE_THIN | /srv/pool1 |"), "{sp}");
    assert!(sp.contains("| pool2                | beta  | FILE      | /srv/pool2 |"), "{sp}");
    let rg = ctl.run(&["rg", "l"]).ok().stdout;
    assert!(rg.contains("| grp           | PlaceCount: 1         |        | for tests   |"), "{rg}");
    assert!(rg.contains("|               | StoragePool(s): pool1 |"), "{rg}");
    let vd = ctl.run(&["vd", "l"]).ok().stdout;
    assert!(vd.contains("| rd1          | 0        |"), "{vd}");
    assert!(vd.contains("| 20 GiB  |"), "{vd}");
    assert!(vd.contains("| 600 MiB |"), "{vd}");
    assert!(vd.contains("| sp1          | 0        |") && vd.contains("| 1 GiB   |"), "{vd}");
    assert!(vd.contains("| sp2          | 0        |") && vd.contains("| 100 MiB |"), "{vd}");
    let version = ctl.run(&["c", "v"]).ok().stdout;
    assert!(version.starts_with("linstor controller strand-"), "{version}");
    let props = ctl.run(&["n", "lp", "alpha"]).ok().stdout;
    assert!(props.contains("| Aux/site | east  |"), "{props}");
    // A property without a value is deleted.
    ctl.run(&["n", "sp", "alpha", "Aux/site"]).ok();
    assert!(!ctl.run(&["n", "lp", "alpha"]).ok().stdout.contains("Aux/site"));
    // Deleting, with the short forms.
    ctl.run(&["sp", "d", "beta", "pool2"]).ok();
    ctl.run(&["rd", "d", "sp1", "sp2"]).ok();
    ctl.run(&["n", "d", "beta"]).ok();
    let nodes = ctl.run(&["n", "l"]).ok().stdout;
    assert!(!nodes.contains("beta") && nodes.contains("alpha"), "{nodes}");
}

#[test]
fn show_props_adds_one_column_per_key() {
    let ctl = Controller::start("props");
    for (rd, name, kind) in [("rd-b", "incus-volume-v1", "custom"), ("rd-a", "incus-volume-c1", "containers")]
    {
        ctl.run(&["rd", "c", rd]).ok();
        ctl.run(&["rd", "sp", rd, "Aux/Incus/name", name]).ok();
        ctl.run(&["rd", "sp", rd, "--aux", "Incus/type", kind]).ok();
    }
    let out = ctl
        .run(&["rd", "l", "--show-props", "Aux/Incus/name", "Aux/Incus/type", "Aux/none=Nothing"])
        .ok()
        .stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[1],
        "| ResourceName | Port | ResourceGroup | Layers | State | Aux/Incus/name  | Aux/Incus/type | Nothing |"
    );
    // Sorted by name, one value per key, empty where a key is not set.
    assert!(
        lines[3].starts_with("| rd-a ")
            && lines[3].ends_with("| incus-volume-c1 | containers     |         |"),
        "{out}"
    );
    assert!(
        lines[4].starts_with("| rd-b ")
            && lines[4].ends_with("| incus-volume-v1 | custom         |         |"),
        "{out}"
    );
    let top = lines[0];
    assert_eq!(top.chars().count(), lines[1].chars().count());

    // Props filters select rows.
    let filtered = ctl.run(&["rd", "l", "--props", "Aux/Incus/type=custom"]).ok().stdout;
    assert!(filtered.contains("rd-b") && !filtered.contains("rd-a"), "{filtered}");

    // list-properties is a sorted Key/Value table.
    let props = ctl.run(&["--utf8", "rd", "lp", "rd-a"]).ok().stdout;
    assert_eq!(
        props,
        "\
╭──────────────────────────────────╮
┊ Key            ┊ Value           ┊
╞══════════════════════════════════╡
┊ Aux/Incus/name ┊ incus-volume-c1 ┊
┊ Aux/Incus/type ┊ containers      ┊
╰──────────────────────────────────╯
"
    );
}

#[test]
fn errors_exit_non_zero_with_the_controllers_message() {
    let ctl = Controller::start("errors");
    ctl.run(&["rd", "c", "rd1"]).ok();

    let cases: &[(&[&str], &str)] = &[
        (&["rd", "sp", "nope", "Aux/a", "1"], "Resource definition 'nope' not found."),
        (&["rd", "lp", "nope"], "Resource definition 'nope' not found."),
        (&["vd", "c", "nope", "1G"], "Resource definition 'nope' not found."),
        (&["vd", "size", "rd1", "5", "1G"], "not found"),
        (&["rd", "c", "1bad"], "is invalid"),
        (&["rd", "c", "rd1"], "already exists"),
        (&["n", "c", "bad!node", "127.0.0.1"], "is invalid"),
        (&["sp", "c", "filethin", "nowhere", "pool", "/srv"], "not found"),
        (&["rg", "spawn", "missing", "x", "1G"], "not found"),
        (&["n", "lp", "ghost"], "not found"),
    ];
    for (args, message) in cases {
        let run = ctl.run(args);
        assert_eq!(run.code, 10, "{args:?}: {run:?}");
        assert!(run.stdout.starts_with("ERROR:\n"), "{args:?}: {run:?}");
        assert!(run.stdout.contains(message), "{args:?} should say {message:?}: {run:?}");
    }
    // The whole error: description, cause and correction lines.
    let run = ctl.run(&["rd", "c", "1bad"]);
    assert!(run.stdout.contains("ERROR:\nDescription:\n    "), "{run:?}");
    assert!(run.stdout.contains("\nCause:\n    ") && run.stdout.contains("\nCorrection:\n    "), "{run:?}");

    // A warning is not an error.
    let run = ctl.run(&["rd", "d", "nope"]).ok();
    assert!(run.stdout.starts_with("WARNING:\n"), "{run:?}");

    // Arguments the client refuses before sending anything.
    let run = ctl.run(&["vd", "c", "rd1", "10X"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("not a valid unit"), "{run:?}");

    // No controller: exit 20 with the addresses tried.
    let down = format!("127.0.0.1:{}", free_port());
    let run = run_with(&["--controllers", &down], &["n", "l"], &[]);
    assert_eq!(run.code, 20, "{run:?}");
    assert!(run.stderr.contains("cannot connect") && run.stderr.contains(&down), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    // A bad controller address.
    let run = run_with(&["--controllers", "ftp://x"], &["n", "l"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("ftp://x"), "{run:?}");
}

#[test]
fn controllers_come_from_ls_controllers_and_fail_over() {
    let ctl = Controller::start("env");
    let down = format!("127.0.0.1:{}", free_port());
    let list = format!("{down},{}", ctl.url);
    let run = run_with(&[], &["rd", "c", "from-env"], &[("LS_CONTROLLERS", &list)]).ok();
    assert!(run.stdout.contains("from-env"), "{run:?}");
    let run =
        run_with(&["--controllers", &format!("linstor://{down}, linstor://{}", ctl.url)], &["rd", "l"], &[])
            .ok();
    assert!(run.stdout.contains("from-env"), "{run:?}");
}
