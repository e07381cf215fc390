//! `strand linstor`: the LINSTOR-syntax half of the CLI.
//!
//! `strand linstor [--controllers URL[,URL]] [-m] [--no-utf8] COMMAND ...` takes the `linstor`
//! client's commands and short aliases (`n l`, `sp c filethin ...`, `rg spawn`, `rd l
//! --show-props KEY`, `vd set-size`, `r l`, `v l`, `s l`, `c v`) and prints what it prints:
//! tables with box characters when stdout is a terminal with a UTF-8 locale, ASCII otherwise;
//! ApiCallRc answers as SUCCESS/INFO/WARNING/ERROR blocks; with `-m` the controller's JSON.
//!
//! Exit codes are the client's: 0 success, 2 bad arguments, 10 an API error, 20 no controller
//! reachable, 21 a timeout, 22 an answer that could not be understood.
//!
//! For tests, the hidden `--utf8` flag forces box characters whatever stdout is.
//!
//! Module map: [`commands`] defines the command line, [`exec`] runs it, [`views`] builds the
//! list tables, [`table`] draws them, [`replies`] prints ApiCallRc answers, [`units`] reads and
//! prints sizes and times.

mod commands;
mod exec;
mod replies;
mod table;
mod units;
mod views;

use linstor_client::{ClientBuilder, Error, TransportKind};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use table::Style;

pub const EXIT_ARGUMENTS: i32 = 2;
pub const EXIT_API_ERROR: i32 = 10;
pub const EXIT_CONNECTION: i32 = 20;
pub const EXIT_TIMEOUT: i32 = 21;
pub const EXIT_UNEXPECTED_REPLY: i32 = 22;

/// Arguments of `strand linstor` (boxed: they are large next to the other commands').
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub global: Box<GlobalArgs>,
    #[command(subcommand)]
    pub command: Box<commands::Command>,
}

/// Options of every `strand linstor` command.
#[derive(clap::Args, Debug)]
pub struct GlobalArgs {
    /// Controllers to talk to, tried in order (`host`, `host:port`, `[v6]:port`, `linstor://`,
    /// `linstor+ssl://`, `http(s)://`).
    #[arg(
        long,
        global = true,
        env = "LS_CONTROLLERS",
        default_value = "http://127.0.0.1:3370",
        value_name = "URL[,URL]"
    )]
    pub controllers: String,
    /// Print the controller's JSON instead of tables and messages.
    #[arg(short = 'm', long = "machine-readable", global = true)]
    pub machine_readable: bool,
    /// Draw tables with ASCII characters only.
    #[arg(long, global = true)]
    pub no_utf8: bool,
    /// Draw tables with box characters even when stdout is not a terminal (for tests).
    #[arg(long, global = true, hide = true, conflicts_with = "no_utf8")]
    pub utf8: bool,
    /// Accepted for compatibility: the output has no colors.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Seconds to wait for an answer.
    #[arg(long, global = true, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// CA certificate (PEM) to verify the controller with.
    #[arg(long, global = true, value_name = "FILE")]
    pub cafile: Option<PathBuf>,
    /// Client certificate (PEM) for controllers that require one.
    #[arg(long, global = true, value_name = "FILE", requires = "keyfile")]
    pub certfile: Option<PathBuf>,
    /// Private key (PEM) of the client certificate.
    #[arg(long, global = true, value_name = "FILE", requires = "certfile")]
    pub keyfile: Option<PathBuf>,
    /// File with a bearer token, `{"token": "..."}`.
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// Text for stdout, collected and written once.
#[derive(Default)]
pub struct Output {
    stdout: String,
}

impl Output {
    fn text(&mut self, text: &str) {
        self.stdout.push_str(text);
    }

    fn json<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => {
                self.stdout.push_str(&text);
                self.stdout.push('\n');
            }
            Err(err) => self.stdout.push_str(&format!("cannot encode JSON: {err}\n")),
        }
    }
}

/// Why a command did not succeed.
pub enum Failure {
    /// The client failed: transport, decode, an API error not yet printed.
    Client(Error),
    /// Bad arguments found after parsing (sizes, pool names).
    Usage(String),
    /// Everything is printed already; exit with this code.
    Printed(i32),
}

/// Whether tables get box characters: forced by flags, else a terminal with a UTF-8 locale.
fn table_style(args: &GlobalArgs) -> Style {
    if args.no_utf8 {
        return Style::Ascii;
    }
    if args.utf8 {
        return Style::Utf8;
    }
    // SAFETY: isatty only inspects the descriptor.
    let terminal = unsafe { libc::isatty(libc::STDOUT_FILENO) } == 1;
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let utf8_locale = locale.contains("utf-8") || locale.contains("utf8");
    if terminal && utf8_locale {
        Style::Utf8
    } else {
        Style::Ascii
    }
}

fn exit_code_of(err: &Error) -> i32 {
    match err {
        Error::NotFound(_) | Error::Api(_) => EXIT_API_ERROR,
        Error::Transport { kind: TransportKind::Timeout, .. } => EXIT_TIMEOUT,
        Error::Transport { .. } => EXIT_CONNECTION,
        Error::Http { .. } | Error::Decode { .. } => EXIT_UNEXPECTED_REPLY,
        Error::Config(_) => EXIT_ARGUMENTS,
    }
}

/// Prints a failure: API errors as the client prints them (stdout), anything else as one plain
/// line on stderr. Answers the exit code.
fn report(failure: Failure, machine: bool, out: &mut Output, stderr: &mut String) -> i32 {
    match failure {
        Failure::Printed(code) => code,
        Failure::Usage(message) => {
            stderr.push_str(&format!("Error: {message}\n"));
            EXIT_ARGUMENTS
        }
        Failure::Client(err) => {
            let code = exit_code_of(&err);
            match &err {
                Error::Api(list) | Error::NotFound(list) if !list.is_empty() => {
                    if machine {
                        out.json(list);
                    } else {
                        out.text(&replies::render(list));
                    }
                }
                Error::NotFound(_) => stderr.push_str("Error: not found (HTTP 404)\n"),
                other => stderr.push_str(&format!("Error: {other}\n")),
            }
            code
        }
    }
}

pub fn run(args: Args) -> Result<(), String> {
    let code = execute(args);
    if code == 0 {
        Ok(())
    } else {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        std::process::exit(code);
    }
}

fn execute(args: Args) -> i32 {
    let style = table_style(&args.global);
    let machine = args.global.machine_readable;
    let mut out = Output::default();
    let mut stderr = String::new();
    let code = match client_for(&args.global) {
        Err(err) => report(Failure::Client(err), machine, &mut out, &mut stderr),
        Ok(client) => match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Err(err) => {
                stderr.push_str(&format!("Error: cannot start the async runtime: {err}\n"));
                1
            }
            Ok(runtime) => {
                let result = runtime.block_on(async {
                    let mut ctx = exec::Context { client: &client, machine, style, out: &mut out };
                    exec::run(&mut ctx, *args.command).await
                });
                match result {
                    Ok(()) => 0,
                    Err(failure) => report(failure, machine, &mut out, &mut stderr),
                }
            }
        },
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = stdout.write_all(out.stdout.as_bytes());
    let _ = stdout.flush();
    if !stderr.is_empty() {
        let _ = std::io::stderr().write_all(stderr.as_bytes());
    }
    code
}

fn client_for(args: &GlobalArgs) -> Result<linstor_client::Client, Error> {
    let mut builder = ClientBuilder::new()
        .controllers_str(&args.controllers)
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .user_agent(format!("strand-linstor/{}", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = &args.cafile {
        builder = builder.ca_file(ca);
    }
    if let (Some(cert), Some(key)) = (&args.certfile, &args.keyfile) {
        builder = builder.client_cert_files(cert, key);
    }
    if let Some(file) = &args.token_file {
        builder = builder.bearer_token_file(file);
    }
    builder.build()
}
