//! Controller-wide props.

use super::props::{modify_props, PropsChange};
use super::Call;
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::props::PropObject;
use linstor_api::ApiCallRcList;

const PROPS_SET: Call = Call::new(MASK_CTRL_CONF, MASK_CRT);
const PROPS_DEL: Call = Call::new(MASK_CTRL_CONF, MASK_DEL);

impl Controller {
    pub fn modify_controller_props(&self, change: PropsChange) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut props = txn.state().controller_props.clone();
            let mut answer = modify_props(PROPS_SET, PropObject::Controller, &mut props, change)?;
            txn.set_controller_props(props);
            let keys: Vec<&str> = change.override_props.keys().map(String::as_str).collect();
            if !keys.is_empty() {
                answer
                    .push(PROPS_SET.created(format!("Successfully set property key(s): {}", keys.join(","))));
            }
            let deleted: Vec<&str> =
                change.delete_props.iter().chain(change.delete_namespaces).map(String::as_str).collect();
            if !deleted.is_empty() {
                answer.push(
                    PROPS_DEL.deleted(format!("Successfully deleted property key(s): {}", deleted.join(","))),
                );
            }
            Ok(answer)
        })
    }

    pub fn delete_controller_prop(&self, key: &str) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut props = txn.state().controller_props.clone();
            let keys = [key.to_string()];
            let change = PropsChange {
                override_props: &Default::default(),
                delete_props: &keys,
                delete_namespaces: &[],
            };
            let mut answer = modify_props(PROPS_DEL, PropObject::Controller, &mut props, change)?;
            if answer.is_empty() {
                txn.set_controller_props(props);
                answer.push(PROPS_DEL.deleted(format!("Successfully deleted property key(s): {key}")));
            }
            Ok(answer)
        })
    }
}
