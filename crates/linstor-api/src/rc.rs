//! The `ApiCallRc` envelope: every mutating call answers with a list of these.

use crate::consts::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One entry of an API answer: a ret code (type, operation, object and code bits) and messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ApiCallRc {
    pub ret_code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_report_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub obj_refs: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

pub type ApiCallRcList = Vec<ApiCallRc>;

/// Which of the four message types a ret code carries (bits 62-63).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcType {
    Success,
    Info,
    Warning,
    Error,
}

impl ApiCallRc {
    pub fn new(ret_code: i64, message: impl Into<String>) -> Self {
        ApiCallRc { ret_code, message: message.into(), ..Default::default() }
    }
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }
    pub fn with_correction(mut self, correction: impl Into<String>) -> Self {
        self.correction = Some(correction.into());
        self
    }
    pub fn with_obj_ref(mut self, kind: &str, name: impl Into<String>) -> Self {
        self.obj_refs.insert(kind.to_string(), name.into());
        self
    }

    pub fn rc_type(&self) -> RcType {
        match self.ret_code & MASK_BITS_TYPE {
            MASK_ERROR => RcType::Error,
            MASK_WARN => RcType::Warning,
            MASK_INFO => RcType::Info,
            _ => RcType::Success,
        }
    }
    pub fn is_error(&self) -> bool {
        self.rc_type() == RcType::Error
    }
    pub fn is_warning(&self) -> bool {
        self.rc_type() == RcType::Warning
    }
    /// The code bits (0-14) without type, operation and object bits.
    pub fn code(&self) -> i64 {
        self.ret_code & MASK_BITS_CODE
    }
    /// The object mask bits (18-22).
    pub fn object(&self) -> i64 {
        self.ret_code & MASK_BITS_OBJ
    }
    /// True when this entry carries the type and code of `code` (a constant such as
    /// `FAIL_NOT_FOUND_RSC_DFN`), whatever its object and operation bits: how golinstor compares.
    pub fn is(&self, code: i64) -> bool {
        let relevant = MASK_BITS_TYPE | MASK_BITS_CODE;
        self.ret_code & relevant == code & relevant
    }
}

/// True when any entry of the list is an error.
pub fn has_error(list: &[ApiCallRc]) -> bool {
    list.iter().any(ApiCallRc::is_error)
}

impl std::fmt::Display for ApiCallRc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        for (label, text) in
            [("cause", &self.cause), ("details", &self.details), ("correction", &self.correction)]
        {
            if let Some(text) = text {
                write!(f, "; {label}: {text}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_of_the_reference() {
        assert_eq!(MASK_NODE | MASK_CRT | CREATED, 20709377);
        assert_eq!(MASK_RSC_DFN | MASK_CRT | CREATED, 20447233);
        assert_eq!(MASK_SNAPSHOT | MASK_CRT | CREATED, 17563649);
        assert_eq!(MASK_NODE | MASK_CRT | FAIL_EXISTS_NODE, -4611686018406678028);
    }

    #[test]
    fn type_and_code_helpers() {
        let rc = ApiCallRc::new(MASK_RSC_DFN | MASK_DEL | WARN_NOT_FOUND, "x");
        assert_eq!(rc.rc_type(), RcType::Warning);
        assert!(rc.is(WARN_NOT_FOUND));
        assert!(!rc.is(FAIL_NOT_FOUND_RSC_DFN));
        assert_eq!(rc.object(), MASK_RSC_DFN);
        let err = ApiCallRc::new(MASK_NODE | MASK_CRT | FAIL_EXISTS_NODE, "x");
        assert!(err.is_error() && has_error(&[rc, err]));
    }

    #[test]
    fn empty_fields_are_left_out() {
        let json = serde_json::to_string(&ApiCallRc::new(1, "m")).unwrap();
        assert_eq!(json, r#"{"ret_code":1,"message":"m"}"#);
    }
}
