//! Signing and broadcasting the node's own custom_json operations.

use opentoken_core::hive_json::parse_timestamp;
use opentoken_hive::{HiveClient, HiveError};
use opentoken_hive_tx::{Operation, Packing, PrivateKey, Transaction};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BroadcastError {
    #[error(transparent)]
    Hive(#[from] HiveError),
    #[error("the Hive node returned an unusable head block ({0}); check --hive-api")]
    Head(String),
    #[error("building the transaction: {0}")]
    Tx(#[from] opentoken_hive_tx::TxError),
}

/// A transaction sent and not yet seen in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub txid: String,
    /// Unix seconds after which Hive will not include it.
    pub expiration: u64,
    /// Head block when it was sent: inclusion can only be after it.
    pub head: u64,
}

/// Signs with the node account's active key and broadcasts through the node's Hive API.
pub struct Broadcaster {
    client: Arc<HiveClient>,
    account: String,
    key: PrivateKey,
    chain_id: [u8; 32],
    /// Seconds a transaction stays valid (Hive allows up to 3600).
    pub expiration_secs: u64,
}

/// The active key shows as its public key only ([`PrivateKey`]'s Debug): a logged
/// broadcaster must not hand out the node account's funds.
impl std::fmt::Debug for Broadcaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcaster")
            .field("account", &self.account)
            .field("key", &self.key)
            .field("chain_id", &hex::encode(self.chain_id))
            .field("expiration_secs", &self.expiration_secs)
            .field("client", &self.client)
            .finish()
    }
}

impl Broadcaster {
    pub fn new(client: Arc<HiveClient>, account: String, key: PrivateKey, chain_id: [u8; 32]) -> Self {
        Self {
            client,
            account,
            key,
            chain_id,
            expiration_secs: 60,
        }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn client(&self) -> &HiveClient {
        &self.client
    }

    /// Broadcasts one active-authority custom_json, referencing the current head block.
    pub async fn custom_json(&self, id: &str, json: String) -> Result<Sent, BroadcastError> {
        let dgp = self.client.dynamic_global_properties().await?;
        let now = parse_timestamp(&dgp.time).ok_or_else(|| BroadcastError::Head(format!("time {:?}", dgp.time)))?;
        let expiration = now + self.expiration_secs;
        let op = Operation::CustomJson {
            required_auths: vec![self.account.clone()],
            required_posting_auths: vec![],
            id: id.to_string(),
            json,
        };
        let tx = Transaction::with_reference(
            dgp.head_block_number,
            &dgp.head_block_id,
            u32::try_from(expiration).map_err(|_| BroadcastError::Head(format!("time {now} out of range")))?,
            vec![op],
        )?;
        let txid = tx.id(Packing::Legacy);
        let signed = tx.sign(&self.chain_id, &[&self.key]);
        self.client.broadcast_transaction(&signed.to_condenser_json()).await?;
        tracing::debug!(%txid, id, "broadcast");
        Ok(Sent {
            txid,
            expiration,
            head: dgp.head_block_number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_public_key_and_never_the_active_key() {
        let secret = [0x3c; 32];
        let key = PrivateKey::from_secret(secret).expect("scalar");
        let wif = key.to_wif();
        let public = key.public().to_string();
        let client = Arc::new(HiveClient::new(vec!["http://127.0.0.1:1".into()]).expect("client"));
        let bc = Broadcaster::new(client, "alice".into(), key, [0; 32]);
        let shown = format!("{bc:?} {bc:#?}");
        assert!(shown.contains("alice") && shown.contains(&public), "{shown}");
        assert!(!shown.contains(&wif), "{shown}");
        assert!(!shown.contains(&hex::encode(secret)), "{shown}");
    }
}
