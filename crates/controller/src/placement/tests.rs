use super::*;
use crate::model::ProviderKind;

fn node(name: &str, free_gib: i64, props: &[(&str, &str)]) -> Candidate {
    Candidate {
        node: NameKey::new(name),
        node_name: name.to_string(),
        pool: "pool".to_string(),
        provider: ProviderKind::FileThin,
        node_props: props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        online: true,
        layers: vec!["STORAGE".to_string()],
        available_kib: Some(free_gib << 20),
        resource_count: 0,
        resources_on_node: BTreeSet::new(),
    }
}

fn request(filter: &AutoSelectFilter) -> Request<'_> {
    Request { resource: "r1", filter, size_kib: 1 << 20, layer_stack: &[], existing: Vec::new() }
}

fn chosen(candidates: &[Candidate], request: &Request) -> Result<Vec<String>, PlacementError> {
    place(candidates, request).map(|c| c.iter().map(|c| c.node_name.clone()).collect())
}

fn filter(place_count: i32) -> AutoSelectFilter {
    AutoSelectFilter { place_count: Some(place_count), ..Default::default() }
}

#[test]
fn most_free_space_wins_then_fewest_resources() {
    let mut busy = node("c", 5, &[]);
    busy.resource_count = 9;
    let candidates = [node("a", 1, &[]), node("b", 5, &[]), busy];
    assert_eq!(chosen(&candidates, &request(&filter(2))).unwrap(), ["b", "c"]);
}

#[test]
fn each_filter_rejects_for_its_reason() {
    let mut offline = node("a", 9, &[]);
    offline.online = false;
    let mut diskless = node("b", 9, &[]);
    diskless.provider = ProviderKind::Diskless;
    let small = node("c", 0, &[]);
    let mut unknown = node("d", 9, &[]);
    unknown.available_kib = None;
    let candidates = [offline, diskless, small, unknown, node("e", 9, &[])];
    let err = chosen(&candidates, &request(&filter(2))).unwrap_err();
    assert_eq!((err.wanted, err.possible), (2, 1));
    for reason in ["1 on offline nodes", "1 diskless", "2 without enough free space"] {
        assert!(err.cause.contains(reason), "{}", err.cause);
    }
}

#[test]
fn pool_node_and_provider_lists() {
    let mut other_pool = node("b", 9, &[]);
    other_pool.pool = "other".into();
    let candidates = [node("a", 1, &[]), other_pool, node("c", 5, &[])];
    let f = AutoSelectFilter { storage_pool_list: vec!["POOL".into()], ..filter(2) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap(), ["c", "a"]);
    let f = AutoSelectFilter { node_name_list: vec!["A".into(), "b".into()], ..filter(2) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap(), ["b", "a"]);
    let f = AutoSelectFilter { provider_list: vec!["LVM".into()], ..filter(1) };
    assert!(chosen(&candidates, &request(&f)).unwrap_err().cause.contains("3 excluded by provider_list"));
}

#[test]
fn layers_must_be_supported() {
    let candidates = [node("a", 1, &[])];
    let layers = ["DRBD".to_string(), "STORAGE".to_string()];
    let f = filter(1);
    let req = Request { layer_stack: &layers, ..request(&f) };
    assert!(chosen(&candidates, &req).unwrap_err().cause.contains("without the needed layers"));
}

#[test]
fn not_place_with_resources_and_regex() {
    let mut holder = node("a", 9, &[]);
    holder.resources_on_node.insert(NameKey::new("db-1"));
    let candidates = [holder, node("b", 1, &[])];
    let f = AutoSelectFilter { not_place_with_rsc: vec!["DB-1".into()], ..filter(1) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap(), ["b"]);
    let f = AutoSelectFilter { not_place_with_rsc_regex: Some("db-.*".into()), ..filter(1) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap(), ["b"]);
    let f = AutoSelectFilter { not_place_with_rsc_regex: Some("web-.*".into()), ..filter(1) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap(), ["a"]);
}

#[test]
fn replicas_on_different_sites() {
    let candidates = [
        node("a", 9, &[("Aux/site", "x")]),
        node("b", 8, &[("Aux/site", "x")]),
        node("c", 1, &[("Aux/site", "y")]),
    ];
    let f = AutoSelectFilter { replicas_on_different: vec!["Aux/site".into()], ..filter(2) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap(), ["a", "c"]);
    let f = AutoSelectFilter { replicas_on_different: vec!["Aux/site".into()], ..filter(3) };
    let err = chosen(&candidates, &request(&f)).unwrap_err();
    assert_eq!((err.wanted, err.possible), (3, 2));
}

#[test]
fn replicas_on_same_site_picks_the_group_that_fits() {
    let candidates = [
        node("a", 9, &[("Aux/site", "x")]),
        node("b", 2, &[("Aux/site", "y")]),
        node("c", 1, &[("Aux/site", "y")]),
        node("d", 5, &[]),
    ];
    let f = AutoSelectFilter { replicas_on_same: vec!["Aux/site".into()], ..filter(2) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap(), ["b", "c"]);
    let f = AutoSelectFilter { replicas_on_same: vec!["Aux/site=x".into()], ..filter(1) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap(), ["a"]);
    let f = AutoSelectFilter { replicas_on_same: vec!["Aux/site=x".into()], ..filter(2) };
    assert!(chosen(&candidates, &request(&f)).is_err());
}

#[test]
fn existing_replicas_count_and_constrain() {
    let candidates = [node("a", 9, &[("Aux/site", "x")]), node("b", 1, &[("Aux/site", "y")])];
    let f = AutoSelectFilter { replicas_on_different: vec!["Aux/site".into()], ..filter(2) };
    let existing = vec![(NameKey::new("z"), [("Aux/site".to_string(), "x".to_string())].into())];
    let req = Request { existing, ..request(&f) };
    assert_eq!(chosen(&candidates, &req).unwrap(), ["b"]);
}

#[test]
fn x_replicas_per_value() {
    let candidates = [
        node("a", 9, &[("Aux/rack", "1")]),
        node("b", 8, &[("Aux/rack", "1")]),
        node("c", 7, &[("Aux/rack", "1")]),
        node("d", 1, &[("Aux/rack", "2")]),
    ];
    let f =
        AutoSelectFilter { x_replicas_on_different_map: [("Aux/rack".to_string(), 2)].into(), ..filter(3) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap(), ["a", "b", "d"]);
}

#[test]
fn additional_place_count_adds_replicas() {
    let candidates = [node("a", 9, &[]), node("b", 8, &[]), node("c", 7, &[])];
    let f = AutoSelectFilter { additional_place_count: Some(1), ..filter(2) };
    assert_eq!(chosen(&candidates, &request(&f)).unwrap().len(), 3);
}

#[test]
fn spread_failures_name_the_rules() {
    let candidates = [node("a", 9, &[("Aux/site", "x")]), node("b", 9, &[("Aux/site", "x")])];
    let f = AutoSelectFilter { replicas_on_different: vec!["Aux/site".into()], ..filter(2) };
    let err = chosen(&candidates, &request(&f)).unwrap_err();
    assert!(
        err.cause.contains("1 of them selectable together under replicas_on_different [Aux/site]"),
        "{}",
        err.cause
    );
    let err = chosen(&candidates, &request(&filter(3))).unwrap_err();
    assert!(err.cause.ends_with("2 usable pool(s) on 2 node(s)."), "{}", err.cause);
}

#[test]
fn diskless_on_remaining_only_where_drbd_is() {
    let diskless = |name: &str, drbd: bool, online: bool| {
        let mut c = node(name, 0, &[]);
        c.provider = ProviderKind::Diskless;
        c.pool = "DfltDisklessStorPool".into();
        c.online = online;
        if drbd {
            c.layers = vec!["DRBD".into(), "STORAGE".into()];
        }
        c
    };
    let mut holder = diskless("e", true, true);
    holder.resources_on_node.insert(NameKey::new("r1"));
    let candidates = [
        node("a", 9, &[]),
        diskless("a", true, true),
        diskless("b", true, true),
        diskless("c", false, true),
        diskless("d", true, false),
        holder,
    ];
    let f = filter(1);
    let req = request(&f);
    let chosen: Vec<&Candidate> = place(&candidates, &req).unwrap();
    assert_eq!(chosen[0].node_name, "a");
    let (with, without) = diskless_on_remaining(&candidates, &req, &chosen);
    let names = |list: Vec<&Candidate>| list.iter().map(|c| c.node_name.clone()).collect::<Vec<_>>();
    // a: chosen; d: offline; e: already holds r1.
    assert_eq!(names(with), ["b"]);
    assert_eq!(names(without), ["c"]);
}
