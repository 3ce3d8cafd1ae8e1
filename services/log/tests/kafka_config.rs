//! `KafkaConfig`'s Debug names the extra librdkafka properties but never prints their values,
//! which may be credentials.
#![cfg(feature = "kafka")]

use opentoken_log::KafkaConfig;

#[test]
fn debug_hides_the_values_of_extra_properties() {
    let mut cfg = KafkaConfig::new("broker:9092", "dlux.ingester");
    cfg.extra.push(("sasl.password".into(), "hunter2-secret".into()));
    let shown = format!("{cfg:?} {cfg:#?}");
    assert!(
        shown.contains("broker:9092") && shown.contains("sasl.password"),
        "{shown}"
    );
    assert!(!shown.contains("hunter2-secret"), "{shown}");
}
