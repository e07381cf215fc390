//! ApiCallRc answers printed as the `linstor` client prints them:
//!
//! ```text
//! ERROR:
//! Description:
//!     Resource definition 'x' not found.
//! Cause:
//!     ...
//! Correction:
//!     ...
//! Details:
//!     ...
//! Show reports:
//!     linstor error-reports show 5F842882-00000-015931
//! ```
//!
//! `Description:` appears only when a cause, correction or details follow the message.

use linstor_api::rc::RcType;
use linstor_api::ApiCallRc;

/// Writes one entry.
pub fn render_entry(rc: &ApiCallRc, out: &mut String) {
    out.push_str(match rc.rc_type() {
        RcType::Error => "ERROR:\n",
        RcType::Warning => "WARNING:\n",
        RcType::Info => "INFO:\n",
        RcType::Success => "SUCCESS:\n",
    });
    let present = |part: &Option<String>| part.as_deref().filter(|t| !t.is_empty()).map(str::to_string);
    let (cause, correction, details) = (present(&rc.cause), present(&rc.correction), present(&rc.details));
    let has_message = !rc.message.is_empty();
    if has_message && (cause.is_some() || correction.is_some() || details.is_some()) {
        out.push_str("Description:\n");
    }
    if has_message {
        indent(&rc.message, out);
    }
    for (label, part) in [("Cause:\n", cause), ("Correction:\n", correction), ("Details:\n", details)] {
        if let Some(text) = part {
            out.push_str(label);
            indent(&text, out);
        }
    }
    if !rc.error_report_ids.is_empty() {
        out.push_str("Show reports:\n");
        indent(&format!("linstor error-reports show {}", rc.error_report_ids.join(" ")), out);
    }
}

/// Writes every entry of an answer.
pub fn render(list: &[ApiCallRc]) -> String {
    let mut out = String::new();
    for rc in list {
        render_entry(rc, &mut out);
    }
    out
}

fn indent(text: &str, out: &mut String) {
    for line in text.lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
}

/// True when any entry is an error.
pub fn has_error(list: &[ApiCallRc]) -> bool {
    list.iter().any(|rc| rc.rc_type() == RcType::Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linstor_api::consts::*;

    #[test]
    fn entries_print_like_the_linstor_client() {
        let list = vec![
            ApiCallRc::new(MASK_RSC_DFN | MASK_CRT | CREATED, "New resource definition 'rd1' created.")
                .with_details("Resource definition 'rd1' UUID is: 1234"),
            ApiCallRc::new(MASK_WARN | MASK_RSC_DFN | MASK_DEL | WARN_NOT_FOUND, "not there"),
            ApiCallRc::new(MASK_INFO | INFO_NOOP, "nothing to do"),
            ApiCallRc {
                error_report_ids: vec!["ABC-00000-000001".into()],
                ..ApiCallRc::new(MASK_ERROR | MASK_RSC_DFN | FAIL_INVLD_RSC_NAME, "bad\nname")
                    .with_cause("starts with a digit")
                    .with_correction("use a letter")
            },
        ];
        let expected = "\
SUCCESS:
Description:
    New resource definition 'rd1' created.
Details:
    Resource definition 'rd1' UUID is: 1234
WARNING:
    not there
INFO:
    nothing to do
ERROR:
Description:
    bad
    name
Cause:
    starts with a digit
Correction:
    use a letter
Show reports:
    linstor error-reports show ABC-00000-000001
";
        assert_eq!(render(&list), expected);
        assert!(has_error(&list) && !has_error(&list[..3]));
    }
}
