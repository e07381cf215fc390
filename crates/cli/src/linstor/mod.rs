//! `strand linstor`: the LINSTOR-syntax half of the CLI.

/// Arguments of `strand linstor`.
#[derive(clap::Args)]
pub struct Args {
    /// The command and its arguments, as the `linstor` client takes them.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

pub fn run(args: Args) -> Result<(), String> {
    Err(format!("'strand linstor {}' is not available yet", args.words.join(" ")))
}
