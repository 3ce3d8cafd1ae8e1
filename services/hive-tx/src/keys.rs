//! secp256k1 keys and signatures in Hive's encodings: WIF private keys, `STM` public keys,
//! 65-byte compact recoverable signatures (header 31 + recovery id), canonical low-S.

use ripemd::Ripemd160;
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{Message, Secp256k1, SecretKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The public key prefix of Hive mainnet.
pub const KEY_PREFIX: &str = "STM";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("not base58: {0}")]
    Base58(String),
    #[error("WIF key: {0}")]
    Wif(&'static str),
    #[error("public key {0:?}: {1}")]
    Public(String, &'static str),
    #[error("signature: {0}")]
    Signature(&'static str),
}

/// A private key. No Display, and Debug shows only the public key: the secret must not end
/// up in a log line.
#[derive(Clone)]
pub struct PrivateKey(SecretKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("public", &self.public().to_string())
            .finish_non_exhaustive()
    }
}

/// A compressed secp256k1 public key (33 bytes); ordered by its bytes, as Hive sorts keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 33]);

/// A 65-byte compact recoverable signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 65]);

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

impl PrivateKey {
    pub fn from_secret(bytes: [u8; 32]) -> Result<Self, KeyError> {
        SecretKey::from_slice(&bytes)
            .map(Self)
            .map_err(|_| KeyError::Wif("the secret is not a valid secp256k1 scalar"))
    }

    /// From WIF: base58(0x80 ‖ secret ‖ checksum), the checksum being the first 4 bytes of
    /// double SHA-256 (fc also accepts single SHA-256).
    pub fn from_wif(wif: &str) -> Result<Self, KeyError> {
        let raw = bs58::decode(wif)
            .into_vec()
            .map_err(|e| KeyError::Base58(e.to_string()))?;
        if raw.len() != 37 || raw[0] != 0x80 {
            return Err(KeyError::Wif("expected 37 bytes starting with 0x80"));
        }
        let (body, check) = raw.split_at(33);
        let double = sha256(&sha256(body));
        let single = sha256(body);
        if check != &double[..4] && check != &single[..4] {
            return Err(KeyError::Wif("checksum mismatch"));
        }
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&body[1..]);
        Self::from_secret(secret)
    }

    pub fn to_wif(&self) -> String {
        let mut body = vec![0x80];
        body.extend_from_slice(&self.0.secret_bytes());
        let check = sha256(&sha256(&body));
        body.extend_from_slice(&check[..4]);
        bs58::encode(body).into_string()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(secp256k1::PublicKey::from_secret_key(&Secp256k1::signing_only(), &self.0).serialize())
    }

    /// Signs a 32-byte digest: RFC 6979 nonces, low-S (libsecp256k1), and retried with extra
    /// entropy until the stricter graphene "canonical" rule also holds, so every verifier,
    /// old or new, accepts it. Deterministic for a given key and digest.
    pub fn sign(&self, digest: &[u8; 32]) -> Signature {
        let secp = Secp256k1::signing_only();
        let msg = Message::from_digest(*digest);
        let mut counter: u32 = 0;
        loop {
            let sig = if counter == 0 {
                secp.sign_ecdsa_recoverable(&msg, &self.0)
            } else {
                let mut extra = [0u8; 32];
                extra[..4].copy_from_slice(&counter.to_le_bytes());
                secp.sign_ecdsa_recoverable_with_noncedata(&msg, &self.0, &extra)
            };
            let (recid, rs) = sig.serialize_compact();
            let mut out = [0u8; 65];
            out[0] = 31 + recid.to_i32() as u8;
            out[1..].copy_from_slice(&rs);
            let s = Signature(out);
            if s.is_fc_canonical() {
                return s;
            }
            counter += 1;
        }
    }
}

impl PublicKey {
    pub fn from_bytes(bytes: [u8; 33]) -> Result<Self, KeyError> {
        secp256k1::PublicKey::from_slice(&bytes)
            .map(|_| Self(bytes))
            .map_err(|_| KeyError::Public(hex::encode(bytes), "not a point on secp256k1"))
    }

    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }

    /// From `STM` + base58(key ‖ first 4 bytes of RIPEMD-160(key)).
    pub fn from_string(s: &str) -> Result<Self, KeyError> {
        let rest = s
            .strip_prefix(KEY_PREFIX)
            .ok_or_else(|| KeyError::Public(s.into(), "does not start with STM"))?;
        let raw = bs58::decode(rest)
            .into_vec()
            .map_err(|e| KeyError::Base58(e.to_string()))?;
        if raw.len() != 37 {
            return Err(KeyError::Public(s.into(), "wrong length"));
        }
        let (key, check) = raw.split_at(33);
        if check != &Ripemd160::digest(key)[..4] {
            return Err(KeyError::Public(s.into(), "checksum mismatch"));
        }
        let mut b = [0u8; 33];
        b.copy_from_slice(key);
        Self::from_bytes(b)
    }

    /// Checks `sig` over `digest` by recovering the signer.
    pub fn verify(&self, digest: &[u8; 32], sig: &Signature) -> bool {
        sig.recover(digest).is_ok_and(|k| k == *self)
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = self.0.to_vec();
        raw.extend_from_slice(&Ripemd160::digest(self.0)[..4]);
        write!(f, "{KEY_PREFIX}{}", bs58::encode(raw).into_string())
    }
}

impl Signature {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let b: [u8; 65] = bytes.try_into().map_err(|_| KeyError::Signature("not 65 bytes"))?;
        if !(27..=34).contains(&b[0]) {
            return Err(KeyError::Signature("header byte is not 27..34"));
        }
        Ok(Self(b))
    }

    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&hex::decode(s).map_err(|_| KeyError::Signature("not hex"))?)
    }

    pub fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    /// BIP-62 low S (what current hived requires).
    pub fn is_low_s(&self) -> bool {
        const HALF_N: [u8; 32] = [
            0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57,
            0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
        ];
        self.0[33..65] <= HALF_N[..]
    }

    /// The older graphene rule clients still apply: neither r nor s has its high bit set or
    /// a zero first byte followed by a byte without the high bit.
    pub fn is_fc_canonical(&self) -> bool {
        let c = &self.0;
        (c[1] & 0x80 == 0)
            && !(c[1] == 0 && c[2] & 0x80 == 0)
            && (c[33] & 0x80 == 0)
            && !(c[33] == 0 && c[34] & 0x80 == 0)
    }

    /// The public key that made this signature over `digest`.
    pub fn recover(&self, digest: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let recid = (i32::from(self.0[0]) - 27) & 3;
        let recid = RecoveryId::from_i32(recid).map_err(|_| KeyError::Signature("bad recovery id"))?;
        let sig = RecoverableSignature::from_compact(&self.0[1..], recid)
            .map_err(|_| KeyError::Signature("r and s are not a valid signature"))?;
        let key = Secp256k1::verification_only()
            .recover_ecdsa(&Message::from_digest(*digest), &sig)
            .map_err(|_| KeyError::Signature("no key recovers from it"))?;
        Ok(PublicKey(key.serialize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The well-known test key of Hive/Steem documentation ("5JdeC9P7Pbd1uGdFVEsJ41EkEnADbbHGq6p1BwFxm6txNBsQnsw").
    #[test]
    fn wif_round_trip_and_checksums() {
        let wif = "5JdeC9P7Pbd1uGdFVEsJ41EkEnADbbHGq6p1BwFxm6txNBsQnsw";
        let k = PrivateKey::from_wif(wif).expect("valid WIF");
        assert_eq!(k.to_wif(), wif);
        let mut bad = wif.to_string();
        bad.replace_range(10..11, if &wif[10..11] == "a" { "b" } else { "a" });
        assert!(PrivateKey::from_wif(&bad).is_err());
        assert!(PrivateKey::from_wif("not base58 0OIl").is_err());
    }

    #[test]
    fn debug_shows_the_public_key_and_never_the_secret() {
        let wif = "5JdeC9P7Pbd1uGdFVEsJ41EkEnADbbHGq6p1BwFxm6txNBsQnsw";
        let k = PrivateKey::from_wif(wif).expect("valid WIF");
        let shown = format!("{k:?} {k:#?}");
        assert!(shown.contains(&k.public().to_string()), "{shown}");
        assert!(!shown.contains(wif), "{shown}");
        let secret = PrivateKey::from_secret([0xab; 32]).expect("scalar");
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.to_lowercase().contains(&hex::encode([0xab; 32])), "{shown}");
        assert!(!shown.contains(&secret.to_wif()), "{shown}");
    }

    #[test]
    fn public_key_strings_round_trip() {
        let k = PrivateKey::from_secret([7u8; 32]).expect("scalar").public();
        let s = k.to_string();
        assert!(s.starts_with("STM"));
        assert_eq!(PublicKey::from_string(&s), Ok(k));
        let mut bad = s.clone();
        bad.pop();
        bad.push(if s.ends_with('1') { '2' } else { '1' });
        assert!(PublicKey::from_string(&bad).is_err());
        assert!(PublicKey::from_string(&s.replacen("STM", "TST", 1)).is_err());
    }

    #[test]
    fn signatures_recover_their_key_and_are_canonical() {
        let k = PrivateKey::from_secret([9u8; 32]).expect("scalar");
        for i in 0..200u32 {
            let digest = sha256(&i.to_le_bytes());
            let sig = k.sign(&digest);
            assert!(sig.is_low_s() && sig.is_fc_canonical(), "{i}");
            assert_eq!(sig.recover(&digest), Ok(k.public()));
            assert!(k.public().verify(&digest, &sig));
            let other = sha256(&(i + 1_000_000).to_le_bytes());
            assert!(!k.public().verify(&other, &sig));
            assert_eq!(k.sign(&digest), sig, "deterministic");
        }
    }

    /// hive-protocol.md §2.9 vector 3: the wax test's key string.
    #[test]
    fn a_real_public_key_parses() {
        let k = PublicKey::from_string("STM5wJarof5LWBiQu2umDUWgg1xD5QHpKQC1Z97sE2aoQdwQ8DwMf").expect("real key");
        assert_eq!(k.to_string(), "STM5wJarof5LWBiQu2umDUWgg1xD5QHpKQC1Z97sE2aoQdwQ8DwMf");
    }
}
