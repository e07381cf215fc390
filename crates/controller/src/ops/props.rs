//! Property changes shared by every object: validation against LINSTOR's whitelist and the
//! override / delete / delete-namespace modify semantics.

use super::Call;
use linstor_api::consts::*;
use linstor_api::props::{
    check_prop, check_prop_delete, check_prop_key, describe_rule, PropError, PropObject,
};
use linstor_api::{ApiCallRc, Props};

fn prop_error(call: Call, object: PropObject, err: PropError) -> ApiCallRc {
    let rc = call.rc(FAIL_INVLD_PROP, err.to_string()).with_cause(err.cause());
    match (&err, describe_rule(object, err.key())) {
        (PropError::UnknownKey { .. }, _) => rc.with_correction(
            "Use a key that LINSTOR accepts for this object, or an 'Aux/' key for free-form data.",
        ),
        (_, Some(rule)) => rc.with_details(format!("The value must be {rule}.")),
        _ => rc,
    }
}

/// Validates (and normalizes) a whole set of props for a new object.
pub fn checked_props(call: Call, object: PropObject, props: &Props) -> Result<Props, ApiCallRc> {
    props
        .iter()
        .map(|(key, value)| {
            check_prop(object, key, value)
                .map(|value| (key.clone(), value))
                .map_err(|err| prop_error(call, object, err))
        })
        .collect()
}

/// The three parts of every props modify body.
#[derive(Debug, Clone, Copy)]
pub struct PropsChange<'a> {
    pub override_props: &'a Props,
    pub delete_props: &'a [String],
    pub delete_namespaces: &'a [String],
}

impl PropsChange<'_> {
    pub fn is_empty(&self) -> bool {
        self.override_props.is_empty() && self.delete_props.is_empty() && self.delete_namespaces.is_empty()
    }
}

/// Applies a props modify to `props`: overrides first, then deleted keys, then deleted
/// namespaces. Returns warnings (deleting a key that is not set).
pub fn modify_props(
    call: Call,
    object: PropObject,
    props: &mut Props,
    change: PropsChange,
) -> Result<Vec<ApiCallRc>, ApiCallRc> {
    let overrides = checked_props(call, object, change.override_props)?;
    for key in change.delete_props {
        check_prop_delete(object, key).map_err(|err| prop_error(call, object, err))?;
    }
    for namespace in change.delete_namespaces {
        check_prop_key(namespace.trim_end_matches('/')).map_err(|err| prop_error(call, object, err))?;
    }
    props.extend(overrides);
    let mut warnings = Vec::new();
    for key in change.delete_props {
        if props.remove(key).is_none() {
            warnings.push(
                call.rc(
                    WARN_DEL_UNSET_PROP,
                    format!("Could not delete property '{key}' as it did not exist."),
                ),
            );
        }
    }
    for namespace in change.delete_namespaces {
        let prefix = format!("{}/", namespace.trim_end_matches('/'));
        props.retain(|key, _| !key.starts_with(&prefix));
    }
    Ok(warnings)
}
