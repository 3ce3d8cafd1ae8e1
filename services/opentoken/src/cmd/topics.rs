//! `opentoken topics`: create the Kafka topics (idempotent; every role also does it at start).

use crate::backends::{kafka_log, load_spec, topic_specs, Common};
use anyhow::{anyhow, Result};
use clap::Args;

#[derive(Args, Clone, Debug)]
pub(crate) struct TopicsArgs {
    #[command(flatten)]
    pub common: Common,
}

impl TopicsArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        let spec = load_spec(&self.common.chain)?;
        let brokers = self
            .common
            .kafka_brokers
            .clone()
            .ok_or_else(|| anyhow!("`opentoken topics` needs --kafka-brokers (or OPENTOKEN_KAFKA_BROKERS)"))?;
        let topics = topic_specs(&self.common, &spec)?;
        tokio::task::spawn_blocking(move || -> Result<()> {
            let log = kafka_log(&brokers, "topics", &spec)?;
            let created = log.ensure_topics(&topics)?;
            for topic in &topics {
                let state = if created.contains(&topic.name) {
                    "created"
                } else {
                    "exists"
                };
                println!(
                    "{state:8} {} (partitions {}, {:?})",
                    topic.name, topic.partitions, topic.config
                );
            }
            Ok(())
        })
        .await?
    }
}
