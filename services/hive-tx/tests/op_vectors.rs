//! Operation layouts checked against bytes other implementations produced from the same
//! JSON:
//! - hived itself, through HAF's SQL tests of `jsonb::hive.operation`
//!   (openhive-network/haf, `tests/integration/functional/hive_fork_manager/`): appbase JSON
//!   to legacy-packed operation bytes;
//! - beem's `tests/beembase/test_transactions.py` (holgern/beem): legacy JSON (`STEEM`/`SBD`
//!   strings, Steem-era field names) to signed transaction bytes, of which the operation is
//!   cut out.

use opentoken_hive_tx::{operation_json_bytes, Packing};
use serde_json::Value;

fn op_hex(json: &str) -> String {
    let v: Value = serde_json::from_str(json).expect("json");
    hex::encode(operation_json_bytes(&v, Packing::Legacy).unwrap_or_else(|e| panic!("{json}: {e}")))
}

const HAF: &[(&str, &str)] = &[
    (
        r#"{"type":"limit_order_cancel_operation","value":{"owner":"complexring","orderid":4294967295}}"#,
        "060b636f6d706c657872696e67ffffffff",
    ),
    (
        r#"{"type":"vote_operation","value":{"voter":"initminer","author":"alice","permlink":"permlink","weight":1000}}"#,
        "0009696e69746d696e657205616c696365087065726d6c696e6be803",
    ),
    (
        r#"{"type":"comment_operation","value":{"parent_author":"","parent_permlink":"someone","author":"bob","permlink":"test-permlink","title":"test-title","body":"this is a body","json_metadata":"{}"}}"#,
        "010007736f6d656f6e6503626f620d746573742d7065726d6c696e6b0a746573742d7469746c650e74686973206973206120626f6479027b7d",
    ),
    (
        r#"{"type":"transfer_operation","value":{"from":"initminer","to":"alice","amount":{"amount":"10000","precision":3,"nai":"@@000000021"},"memo":"memo"}}"#,
        "0209696e69746d696e657205616c696365102700000000000003535445454d0000046d656d6f",
    ),
    (
        r#"{"type":"limit_order_create_operation","value":{"owner":"alice","orderid":1000,"amount_to_sell":{"amount":"1000","precision":3,"nai":"@@000000021"},"min_to_receive":{"amount":"1000","precision":3,"nai":"@@000000013"},"fill_or_kill":false,"expiration":"2023-01-02T11:43:07"}}"#,
        "0505616c696365e8030000e80300000000000003535445454d0000e8030000000000000353424400000000004bc3b263",
    ),
    (
        r#"{"type":"limit_order_cancel_operation","value":{"owner":"alice","orderid":1}}"#,
        "0605616c69636501000000",
    ),
    (
        r#"{"type":"feed_publish_operation","value":{"publisher":"initminer","exchange_rate":{"base":{"amount":"1","precision":3,"nai":"@@000000013"},"quote":{"amount":"1","precision":3,"nai":"@@000000021"}}}}"#,
        "0709696e69746d696e657201000000000000000353424400000000010000000000000003535445454d0000",
    ),
    (
        r#"{"type":"account_create_operation","value":{"fee":{"amount":"0","precision":3,"nai":"@@000000021"},"creator":"initminer","new_account_name":"dan","owner":{"weight_threshold":1,"account_auths":[],"key_auths":[["STM5vYywCazmCT3XSRhxoPPHEznNJqQHzSDnGsGYTKR6VkU88E1gH",1]]},"active":{"weight_threshold":1,"account_auths":[],"key_auths":[["STM5vYywCazmCT3XSRhxoPPHEznNJqQHzSDnGsGYTKR6VkU88E1gH",1]]},"posting":{"weight_threshold":1,"account_auths":[],"key_auths":[["STM5vYywCazmCT3XSRhxoPPHEznNJqQHzSDnGsGYTKR6VkU88E1gH",1]]},"memo_key":"STM5vYywCazmCT3XSRhxoPPHEznNJqQHzSDnGsGYTKR6VkU88E1gH","json_metadata":"{}"}}"#,
        "09000000000000000003535445454d000009696e69746d696e65720364616e010000000001028861208bc91fb754c2a7d88ebc945289bf310093c548b1f2d8365c7e103653b00100010000000001028861208bc91fb754c2a7d88ebc945289bf310093c548b1f2d8365c7e103653b00100010000000001028861208bc91fb754c2a7d88ebc945289bf310093c548b1f2d8365c7e103653b00100028861208bc91fb754c2a7d88ebc945289bf310093c548b1f2d8365c7e103653b0027b7d",
    ),
    (
        r#"{"type":"account_update_operation","value":{"account":"alice","memo_key":"STM7DfRjPa69TUwmvqU7igeKDLf2pwUaF2CHpd7oeHUSYpjwkVhE8","json_metadata":"{}"}}"#,
        "0a05616c6963650000000332edaa6d50c9d47dc51e819e9b00f3640a8c47f544996044881f7e43bcce523e027b7d",
    ),
    (
        r#"{"type":"witness_update_operation","value":{"owner":"alice","url":"http://url.html","block_signing_key":"STM5P8syqoj7itoDjbtDvCMCb5W3BNJtUjws9v7TDNZKqBLmp3pQW","props":{"account_creation_fee":{"amount":"10000" ,"precision":3,"nai":"@@000000021"},"maximum_block_size":131072,"hbd_interest_rate":1000},"fee":{"amount":"0","precision":3,"nai":"@@000000021"}}}"#,
        "0b05616c6963650f687474703a2f2f75726c2e68746d6c02410be8f7ca66c250f420a07382ba23af572c98f5fc825ce73d24b7ace17e0e6d102700000000000003535445454d000000000200e803000000000000000003535445454d0000",
    ),
    (
        r#"{"type":"account_witness_vote_operation","value":{"account":"alice","witness":"initminer","approve":true}}"#,
        "0c05616c69636509696e69746d696e657201",
    ),
    (
        r#"{"type":"account_witness_proxy_operation","value":{"account":"initminer","proxy":"alice"}}"#,
        "0d09696e69746d696e657205616c696365",
    ),
    (
        r#"{"type":"pow_operation","value":{"block_id":"002104af55d5c492c8c134b5a55c89eac8210a86","nonce":"6317456790497374569","props":{"account_creation_fee":{"amount":"1","nai":"@@000000021","precision":3},"hbd_interest_rate":1000,"maximum_block_size":131072},"work":{"input":"d28a6c6f0fd04548ef12833d3e95acf7690cfb2bc6f6c8cd3b277d2f234bd908","signature":"20bd759200fb6996e141f1968beb3ef7d37a1692f15dc3a6c930388b27ec8691c07e36d3a0f441de10d12b2b1c98ed0816d3c2dfe1c8be1eacfd27fe5f4dd7f07a","work":"0000000c822c37f6a18985b1ef0eac34ae51f9e87d9ce3a8a217c90c7d74d82e","worker":"STM5DHtHTDTyr3A4uutu6EsnHPfxAfRo9gQoJRT7jAHw4eU4UWRCK"},"worker_account":"badger3143"}}"#,
        "0e0a62616467657233313433002104af55d5c492c8c134b5a55c89eac8210a8669b179c97a1dac57022ab15e2aaa3fe83aefeecafe153d10e182c29cd6a3c29d673ac183a86820b611d28a6c6f0fd04548ef12833d3e95acf7690cfb2bc6f6c8cd3b277d2f234bd90820bd759200fb6996e141f1968beb3ef7d37a1692f15dc3a6c930388b27ec8691c07e36d3a0f441de10d12b2b1c98ed0816d3c2dfe1c8be1eacfd27fe5f4dd7f07a0000000c822c37f6a18985b1ef0eac34ae51f9e87d9ce3a8a217c90c7d74d82e010000000000000003535445454d000000000200e803",
    ),
    (
        r#"{"type":"pow_operation","value":{"work":{"work":"000000049711861bce6185671b672696eca64398586a66319eacd875155b77fc","input":"c55811a1a9cf6a281acad3aba38223027158186cfd280c41fffe5e2b0d2d6e0b","worker":"STM6tC4qRjUPKmkqkug5DvSgkeND5DHhnfr3XTgpp4b4nejMEwn9k","signature":"1fbce97f375ac58c185905ac8e44a9c8b50b7e618bf4a7559816d8316e3b09ff54da096c2f5eddcca1229cf0b9da9597eac2ae676e424bdb432a7855295cd81a00"},"nonce":42,"props":{"hbd_interest_rate":1000,"maximum_block_size":131072,"account_creation_fee":{"nai":"@@000000021","amount":"100000","precision":3}},"block_id":"00015d56d6e721ede5aad1babb0fe818203cbeeb","worker_account":"sminer10"}}"#,
        "0e08736d696e6572313000015d56d6e721ede5aad1babb0fe818203cbeeb2a000000000000000306b7270831d7e89a5d2b23ba614e6af9f587d2916cbd8f5fd736faa08acdda1ac55811a1a9cf6a281acad3aba38223027158186cfd280c41fffe5e2b0d2d6e0b1fbce97f375ac58c185905ac8e44a9c8b50b7e618bf4a7559816d8316e3b09ff54da096c2f5eddcca1229cf0b9da9597eac2ae676e424bdb432a7855295cd81a00000000049711861bce6185671b672696eca64398586a66319eacd875155b77fca08601000000000003535445454d000000000200e803",
    ),
    (
        r#"{"type": "custom_operation","value": {"data": "0a","id": 777,"required_auths": ["bytemaster"]}}"#,
        "0f010a627974656d61737465720903010a",
    ),
    (
        r#"{"type": "delete_comment_operation","value": {"author": "camilla","permlink": "re-shenanigator"}}"#,
        "110763616d696c6c610f72652d7368656e616e696761746f72",
    ),
    (
        r#"{"type":"custom_json_operation","value":{"required_auths":[],"required_posting_auths":["alice"],"id":"follow","json":"{\"type\":\"follow_operation\",\"value\":{\"follower\":\"alice\",\"following\":\"@bob\",\"what\":[\"blog\"]}}"}}"#,
        "12000105616c69636506666f6c6c6f775b7b2274797065223a22666f6c6c6f775f6f7065726174696f6e222c2276616c7565223a7b22666f6c6c6f776572223a22616c696365222c22666f6c6c6f77696e67223a2240626f62222c2277686174223a5b22626c6f67225d7d7d",
    ),
    (
        r#"{"type":"comment_options_operation","value":{"allow_curation_rewards":true,"allow_votes":true,"author":"djangothegod","extensions":[],"max_accepted_payout":{"amount":"1000000000","nai":"@@000000013","precision":3},"percent_hbd":0,"permlink":"i-did-mean-it-in-no-bad-way"}}"#,
        "130c646a616e676f746865676f641b692d6469642d6d65616e2d69742d696e2d6e6f2d6261642d77617900ca9a3b0000000003534244000000000000010100",
    ),
    (
        r#"{"type":"set_withdraw_vesting_route_operation","value":{"from_account":"alice","to_account":"bob","percent":30,"auto_vest":true}}"#,
        "1405616c69636503626f621e0001",
    ),
    (
        r#"{"type":"claim_account_operation","value":{"creator":"initminer","fee":{"amount":"0","precision":3,"nai":"@@000000021"},"extensions":[]}}"#,
        "1609696e69746d696e6572000000000000000003535445454d000000",
    ),
    (
        r#"{"type":"request_account_recovery_operation","value":{"recovery_account":"initminer","account_to_recover":"alice","new_owner_authority":{"weight_threshold":1,"account_auths":[],"key_auths":[["STM5P8syqoj7itoDjbtDvCMCb5W3BNJtUjws9v7TDNZKqBLmp3pQW",1]]},"extensions":[]}}"#,
        "1809696e69746d696e657205616c69636501000000000102410be8f7ca66c250f420a07382ba23af572c98f5fc825ce73d24b7ace17e0e6d010000",
    ),
    (
        r#"{"type":"recover_account_operation","value":{"account_to_recover":"alice","new_owner_authority":{"weight_threshold":1,"account_auths":[],"key_auths":[["STM6LLegbAgLAy28EHrffBVuANFWcFgmqRMW13wBmTExqFE9SCkg4",1]]},"recent_owner_authority":{"weight_threshold":1,"account_auths":[],"key_auths":[["STM5P8syqoj7itoDjbtDvCMCb5W3BNJtUjws9v7TDNZKqBLmp3pQW",1]]},"extensions":[]}}"#,
        "1905616c69636501000000000102be643d4c424ac7cf2f3cf51dd048773cbdcee30b111adb30d89c27668c501705010001000000000102410be8f7ca66c250f420a07382ba23af572c98f5fc825ce73d24b7ace17e0e6d010000",
    ),
    (
        r#"{"type":"change_recovery_account_operation","value":{"account_to_recover":"initminer","new_recovery_account":"alice","extensions":[]}}"#,
        "1a09696e69746d696e657205616c69636500",
    ),
    (
        r#"{"type":"escrow_transfer_operation","value":{"from":"initminer","to":"alice","hbd_amount":{"amount":"10000","precision":3,"nai":"@@000000013"},"hive_amount":{"amount":"10000","precision":3,"nai":"@@000000021"},"escrow_id":10,"agent":"bob","fee":{"amount":"10000","precision":3,"nai":"@@000000013"},"json_meta":"{}","ratification_deadline":"2030-01-01T00:00:00","escrow_expiration":"2030-06-01T00:00:00"}}"#,
        "1b09696e69746d696e657205616c69636510270000000000000353424400000000102700000000000003535445454d00000a00000003626f6210270000000000000353424400000000027b7d80d8db7000eba271",
    ),
    (
        r#"{"type":"escrow_dispute_operation","value":{"from":"initminer","to":"alice","agent":"bob","who":"initminer","escrow_id":3}}"#,
        "1c09696e69746d696e657205616c69636503626f6209696e69746d696e657203000000",
    ),
    (
        r#"{"type":"escrow_release_operation","value":{"from":"initminer","to":"alice","agent":"bob","who":"bob","receiver":"alice","escrow_id":1,"hbd_amount":{"amount":"10000","precision":3,"nai":"@@000000013"},"hive_amount":{"amount":"10000","precision":3,"nai":"@@000000021"}}}"#,
        "1d09696e69746d696e657205616c69636503626f6203626f6205616c6963650100000010270000000000000353424400000000102700000000000003535445454d0000",
    ),
    (
        r#"{"type":"pow2_operation","value":{"props":{"account_creation_fee":{"amount":"1","nai":"@@000000021","precision":3},"hbd_interest_rate":1000,"maximum_block_size":131072},"work":{"type":"pow2","value":{"input":{"nonce":"2363830237862599931","prev_block":"003ead0c90b0cd80e9145805d303957015c50ef1","worker_account":"thedao"},"pow_summary":3878270667}}}}"#,
        "1e000674686564616f003ead0c90b0cd80e9145805d303957015c50ef1fb9c20c51303ce20cbb629e700010000000000000003535445454d000000000200e803",
    ),
    (
        r#"{"type":"escrow_approve_operation","value":{"from":"initminer","to":"alice","agent":"bob","who":"bob","escrow_id":2,"approve":true}}"#,
        "1f09696e69746d696e657205616c69636503626f6203626f620200000001",
    ),
    (
        r#"{"type":"transfer_to_savings_operation","value":{"from":"initminer","to":"alice","amount":{"amount":"100000","precision":3,"nai":"@@000000021"},"memo":"memo"}}"#,
        "2009696e69746d696e657205616c696365a08601000000000003535445454d0000046d656d6f",
    ),
    (
        r#"{"type":"transfer_from_savings_operation","value":{"from":"alice","request_id":1000,"to":"bob","amount":{"amount":"1000","precision":3,"nai":"@@000000021"},"memo":"memo"}}"#,
        "2105616c696365e803000003626f62e80300000000000003535445454d0000046d656d6f",
    ),
    (
        r#"{"type":"cancel_transfer_from_savings_operation","value":{"from":"alice","request_id":1}}"#,
        "2205616c69636501000000",
    ),
    (
        r#"{"type":"decline_voting_rights_operation","value":{"account":"initminer","decline":true}}"#,
        "2409696e69746d696e657201",
    ),
    (
        r#"{"type":"delegate_vesting_shares_operation","value":{"delegator":"alice","delegatee":"bob","vesting_shares":{"amount":"1000000","precision":6,"nai":"@@000000037"}}}"#,
        "2805616c69636503626f6240420f00000000000656455354530000",
    ),
    (
        r#"{"type":"create_proposal_operation","value":{"creator":"alice","receiver":"alice","start_date":"2031-01-01T00:00:00","end_date":"2031-06-01T00:00:00","daily_pay":{"amount":"1000000","precision":3,"nai":"@@000000013"},"subject":"subject-1","permlink":"permlink","extensions":[]}}"#,
        "2c05616c69636505616c696365000cbd72801e847340420f00000000000353424400000000097375626a6563742d31087065726d6c696e6b00",
    ),
    (
        r#"{"type":"update_proposal_votes_operation","value":{"voter":"alice","proposal_ids":[0, 1, 2],"approve":true,"extensions":[]}}"#,
        "2d05616c696365030000000000000000010000000000000002000000000000000100",
    ),
    (
        r#"{"type":"remove_proposal_operation","value":{"proposal_owner":"initminer","proposal_ids":[7],"extensions":[]}}"#,
        "2e09696e69746d696e657201070000000000000000",
    ),
    (
        r#"{"type":"update_proposal_operation","value":{"proposal_id":0,"creator":"alice","daily_pay":{"amount":"10000","precision":3,"nai":"@@000000013"},"subject":"subject-1","permlink":"permlink","extensions":[{"type":"update_proposal_end_date","value":{"end_date":"2031-05-01T00:00:00"}}]}}"#,
        "2f000000000000000005616c69636510270000000000000353424400000000097375626a6563742d31087065726d6c696e6b010100405b73",
    ),
    (
        r#"{"type":"recurrent_transfer_operation","value":{"from":"alice","to":"bob","amount":{"amount":"5000","precision":3,"nai":"@@000000021"},"memo":"memo","recurrence":720,"executions":12,"extensions":[]}}"#,
        "3105616c69636503626f62881300000000000003535445454d0000046d656d6fd0020c0000",
    ),
];

#[test]
fn hived_bytes_from_haf_tests() {
    for (json, want) in HAF {
        assert_eq!(op_hex(json), *want, "{json}");
    }
}

/// beem signs `ref_block_num 34294, ref_block_prefix 3707022213, expiration
/// 2016-04-06T08:29:27` with one operation: the operation is what lies between that 11-byte
/// prefix and `00` (extensions) `01` (one signature) + 65 signature bytes.
fn beem_op(signed_tx_hex: &str) -> &str {
    let prefix = "f68585abf4dce7c8045701";
    assert!(signed_tx_hex.starts_with(prefix));
    &signed_tx_hex[prefix.len()..signed_tx_hex.len() - 4 - 130]
}

const BEEM: &[(&str, &str)] = &[
    (
        r#"["transfer",{"from":"foo","to":"baar","amount":"111.110 STEEM","memo":"Fooo"}]"#,
        "f68585abf4dce7c80457010203666f6f046261617206b201000000000003535445454d000004466f6f6f00012025416c234dd5ff15d8b45486833443c128002bcafa57269cada3ad213ef88adb5831f63a58d8b81bbdd92d494da01eeb13ee1786d02ce075228b25d7132f8f3e",
    ),
    (
        r#"["transfer_to_vesting",{"from":"foo","to":"baar","amount":"111.110 STEEM"}]"#,
        "f68585abf4dce7c80457010303666f6f046261617206b201000000000003535445454d00000001203a34cd45fb4a2585514614be2c1ba2365257ce5470d20c6c6abda39204eeba0b7e057d889ca8b1b1406f1441520a25d32df2ab9fdb532c3377dc66d0fe41bb3d",
    ),
    (
        r#"["withdraw_vesting",{"account":"foo","vesting_shares":"100.000000 VESTS"}]"#,
        "f68585abf4dce7c80457010403666f6f00e1f505000000000656455354530000000120772da57b15b62780ee3d8afedd8d46ffafb8c62788eab5ce01435df99e1d36de549f260444866ff4e228cac445548060e018a872e7ee99ace324af9844f4c50a",
    ),
    (
        r#"["convert",{"owner":"xeroc","requestid":2342343235,"amount":"100.000 SBD"}]"#,
        concat!(
            "f68585abf4dce7c804570108057865726f6343529d8ba0860100000",
            "00000035342440000000000011f3d22eb66e5cddcc90f5d6ca0bd7a",
            "43e0ab811ecd480022af8a847c45eac720b342188d55643d8cb1711",
            "f516e9879be2fa7dfa329b518f19df4afaaf4f41f7715"
        ),
    ),
    (
        r#"["feed_publish",{"publisher":"xeroc","exchange_rate":{"base":"1.000 SBD","quote":"4.123 STEEM"}}]"#,
        concat!(
            "f68585abf4dce7c804570107057865726f63e803000000000",
            "00003534244000000001b1000000000000003535445454d00",
            "000001203847a02aa76964cacfb41565c23286cc64b18f6bb",
            "9260832823839b3b90dff18738e1b686ad22f79c42fca73e6",
            "1bf633505a2a66cac65555b0ac535ca5ee5a61",
        ),
    ),
    (
        r#"["witness_update",{"owner":"xeroc","url":"foooobar","block_signing_key":"STM6zLNtyFVToBsBZDsgMhgjpwysYVbsQD6YhP3kRkQhANUB4w7Qp","props":{"account_creation_fee":"10.000 STEEM","maximum_block_size":1111111,"sbd_interest_rate":1000},"fee":"10.000 STEEM"}]"#,
        concat!(
            "f68585abf4dce7c80457010b057865726f6308666f6f6f6f6261",
            "720314aa202c9158990b3ec51a1aa49b2ab5d300c97b391df3be",
            "b34bb74f3c62699e102700000000000003535445454d000047f4",
            "1000e803102700000000000003535445454d00000001206adca4",
            "bebc872e8d792caeb3b729e9a5e8af90c07ab3f744fb4d0f19d5",
            "7b3bec32f5a43f5acdfc065f0227e45e599745c46e41c023d69f",
            "b9f2405478badadb4c",
        ),
    ),
    (
        r#"["comment_options",{"author":"xeroc","permlink":"piston","max_accepted_payout":"1000000.000 SBD","percent_steem_dollars":10000,"allow_votes":true,"allow_curation_rewards":true,"extensions":[[0,{"beneficiaries":[{"account":"good-karma","weight":2000},{"account":"null","weight":5000}]}]]}]"#,
        concat!(
            "f68585abf4dce7c804570113057865726f6306706973746f6e",
            "00ca9a3b000000000353424400000000102701010100020a67",
            "6f6f642d6b61726d61d007046e756c6c881300011f59634e65",
            "55fec7c01cb7d4921601c37c250c6746022cc35eaefdd90405",
            "d7771b2f65b44e97b7f3159a6d52cb20640502d2503437215f",
            "0907b2e2213940f34f2c",
        ),
    ),
    (
        r#"["set_withdraw_vesting_route",{"from_account":"xeroc","to_account":"xeroc","percent":1000,"auto_vest":false}]"#,
        concat!(
            "f68585abf4dce7c804570114057865726f63057865726f63e803",
            "0000011f12d2b8f93f9528f31979e0e1f59a6d45346a88c02ab2",
            "c4115b10c9e273fc1e99621af0c2188598c84762b7e99ca63f6b",
            "6be6fca318dd85b0d7a4f09f95579290",
        ),
    ),
    (
        r#"["limit_order_create",{"owner":"","orderid":0,"amount_to_sell":"0.000 STEEM","min_to_receive":"0.000 STEEM","fill_or_kill":false,"expiration":"2016-12-31T23:59:59"}]"#,
        concat!(
            "f68585abf4dce7c8045701050000000000000000000000000003535",
            "445454d0000000000000000000003535445454d0000007f46685800",
            "011f28a2fc52dcfc19378c5977917b158dfab93e7760259aab7ecdb",
            "cb82df7b22e1a5527e02fd3aab7d64302ec550c3edcbba29d73226c",
            "f088273e4fafda89eb7de8",
        ),
    ),
    (
        r#"["transfer_from_savings",{"from":"testuser","request_id":9001,"to":"testser","amount":"100.000 SBD","memo":"memohere"}]"#,
        concat!(
            "f68585abf4dce7c804570121087465737475736572292300000774657374736",
            "572a0860100000000000353424400000000086d656d6f6865726500012058760",
            "45f4869b6459438019d71d25bdea461899e0a96635c05f19caf424fa1453fc1fe",
            "103d9ca6470d629b9971adddf757c829bb47cc96b29662f294bebb4fb2",
        ),
    ),
];

#[test]
fn beem_bytes_from_steem_era_json() {
    for (json, signed) in BEEM {
        assert_eq!(op_hex(json), beem_op(signed), "{json}");
    }
}
