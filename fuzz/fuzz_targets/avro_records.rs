//! Every Avro record decoder (block record, message, message batch, event record, op
//! status, report, module checkpoint) and every module's event decoder, on any bytes (a
//! Kafka record or a store row can be anything). No input may panic or allocate beyond the
//! codec's bounds; what decodes re-encodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentoken_codec as codec;
use opentoken_core::ModuleEvent;

/// `decode(encode(x)) == x` for whatever decoded.
macro_rules! round_trip {
    ($data:expr, $decode:path, $encode:path) => {
        if let Ok(x) = $decode($data) {
            let again = $decode(&$encode(&x)).unwrap_or_else(|e| panic!("re-encoded {x:?} does not decode: {e}"));
            assert_eq!(again, x, "a record changes through encode and decode");
        }
    };
}

fn event_round_trip<E: ModuleEvent + PartialEq>(data: &[u8]) {
    if let Ok(e) = E::decode(data) {
        let bytes = e
            .encode()
            .unwrap_or_else(|err| panic!("decoded {e:?} does not encode: {err}"));
        match E::decode(&bytes) {
            Ok(again) => assert_eq!(again, e, "an event changes through encode and decode"),
            Err(err) => panic!("re-encoded {e:?} does not decode: {err}"),
        }
    }
}

fuzz_target!(
    init: opentoken_fuzz::write_seeds_once(opentoken_fuzz::seeds::avro_records),
    |data: &[u8]| {
        let _ = codec::schema_name_of(data);
        round_trip!(data, codec::decode_block_record, codec::encode_block_record);
        round_trip!(data, codec::decode_message, codec::encode_message);
        round_trip!(data, codec::decode_message_batch, codec::encode_message_batch);
        round_trip!(data, codec::decode_event_record, codec::encode_event_record);
        round_trip!(data, codec::decode_op_status, codec::encode_op_status);
        round_trip!(data, codec::decode_report, codec::encode_report);
        round_trip!(data, codec::decode_module_checkpoint, codec::encode_module_checkpoint);
        event_round_trip::<opentoken_token::TokenEvent>(data);
        event_round_trip::<opentoken_nodes::NodesEvent>(data);
        event_round_trip::<opentoken_multisig::MultisigEvent>(data);
        event_round_trip::<opentoken_dex::DexEvent>(data);
        event_round_trip::<opentoken_nft::NftEvent>(data);
        event_round_trip::<opentoken_example_module::GuestbookEvent>(data);
    }
);
