//! An index of objects by their own properties, so that a `props=key=value` lookup costs
//! the size of its answer, not the number of objects.

use imbl::{OrdMap, OrdSet};
use linstor_api::names::NameKey;
use linstor_api::Props;

/// One `props` query filter: `key` (set, any value) or `key=value` (exact, case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropFilter {
    Has(String),
    Equals(String, String),
}

impl PropFilter {
    pub fn parse(text: &str) -> PropFilter {
        match text.split_once('=') {
            Some((key, value)) => PropFilter::Equals(key.to_string(), value.to_string()),
            None => PropFilter::Has(text.to_string()),
        }
    }

    pub fn matches(&self, props: &Props) -> bool {
        match self {
            PropFilter::Has(key) => props.contains_key(key),
            PropFilter::Equals(key, value) => props.get(key) == Some(value),
        }
    }

    pub fn all_match(filters: &[PropFilter], props: &Props) -> bool {
        filters.iter().all(|filter| filter.matches(props))
    }
}

#[derive(Debug, Clone, Default)]
pub struct PropIndex {
    by_key: OrdMap<String, OrdMap<String, OrdSet<NameKey>>>,
}

impl PropIndex {
    fn add(&mut self, owner: &NameKey, key: &str, value: &str) {
        self.by_key
            .entry(key.to_string())
            .or_default()
            .entry(value.to_string())
            .or_default()
            .insert(owner.clone());
    }

    fn drop_entry(&mut self, owner: &NameKey, key: &str, value: &str) {
        let Some(values) = self.by_key.get_mut(key) else {
            return;
        };
        if let Some(owners) = values.get_mut(value) {
            owners.remove(owner);
            if owners.is_empty() {
                values.remove(value);
            }
        }
        if values.is_empty() {
            self.by_key.remove(key);
        }
    }

    /// Records that `owner`'s props changed from `old` to `new`.
    pub fn update(&mut self, owner: &NameKey, old: &Props, new: &Props) {
        for (key, value) in old {
            if new.get(key) != Some(value) {
                self.drop_entry(owner, key, value);
            }
        }
        for (key, value) in new {
            if old.get(key) != Some(value) {
                self.add(owner, key, value);
            }
        }
    }

    /// The owners that may match `filters`, in name order, or `None` when no filter narrows
    /// the search (the caller then scans). Only the narrowest filter's owners are gathered;
    /// every candidate must still be checked against all filters.
    pub fn candidates(&self, filters: &[PropFilter]) -> Option<Vec<NameKey>> {
        let sets = |filter: &PropFilter| -> Vec<&OrdSet<NameKey>> {
            match filter {
                PropFilter::Equals(key, value) => {
                    self.by_key.get(key).and_then(|values| values.get(value)).into_iter().collect()
                }
                PropFilter::Has(key) => {
                    self.by_key.get(key).map(|values| values.values().collect()).unwrap_or_default()
                }
            }
        };
        let narrowest = filters
            .iter()
            .map(sets)
            .min_by_key(|sets| sets.iter().map(|owners| owners.len()).sum::<usize>())?;
        let mut owners: Vec<NameKey> =
            narrowest.into_iter().flat_map(|owners| owners.iter().cloned()).collect();
        owners.sort();
        owners.dedup();
        Some(owners)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn lookups_follow_updates() {
        let mut index = PropIndex::default();
        let a = NameKey::new("a");
        let b = NameKey::new("b");
        index.update(&a, &Props::new(), &props(&[("Aux/x", "1"), ("Aux/y", "2")]));
        index.update(&b, &Props::new(), &props(&[("Aux/x", "1")]));
        let eq = |k: &str, v: &str| PropFilter::Equals(k.into(), v.into());
        assert_eq!(index.candidates(&[eq("Aux/x", "1")]), Some(vec![a.clone(), b.clone()]));
        assert_eq!(index.candidates(&[eq("Aux/x", "1"), eq("Aux/y", "2")]), Some(vec![a.clone()]));
        assert_eq!(index.candidates(&[PropFilter::Has("Aux/y".into())]), Some(vec![a.clone()]));
        index.update(&a, &props(&[("Aux/x", "1"), ("Aux/y", "2")]), &props(&[("Aux/x", "3")]));
        assert_eq!(index.candidates(&[eq("Aux/x", "1")]), Some(vec![b.clone()]));
        assert_eq!(index.candidates(&[PropFilter::Has("Aux/y".into())]), Some(vec![]));
        assert_eq!(index.candidates(&[PropFilter::Has("Aux/x".into())]), Some(vec![a, b]));
        assert_eq!(index.candidates(&[]), None);
    }

    #[test]
    fn filter_parsing() {
        assert_eq!(PropFilter::parse("k"), PropFilter::Has("k".into()));
        assert_eq!(PropFilter::parse("k=v=w"), PropFilter::Equals("k".into(), "v=w".into()));
        assert_eq!(PropFilter::parse("k="), PropFilter::Equals("k".into(), "".into()));
    }
}
