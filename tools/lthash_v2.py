#!/usr/bin/env python3
"""An implementation of opentoken's state commitment written from its documentation
(docs/architecture.md, "State commitment"), independent of the Rust crates: ChaCha20 from
RFC 8439 section 2.3, SHA-256/SHA-512 from Python's hashlib. It prints the known answers
that services/core/src/commitment.rs pins, so the Rust element is the documented one.

    python3 tools/lthash_v2.py
"""
import hashlib
import struct

LANES = 1024
MASK = 0xFFFFFFFF


def _rotl(x, n):
    return ((x << n) & MASK) | (x >> (32 - n))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & MASK; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & MASK; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & MASK; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & MASK; s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block(key, counter, nonce):
    """RFC 8439 2.3: one 64-byte keystream block."""
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state += list(struct.unpack("<8I", key)) + [counter] + list(struct.unpack("<3I", nonce))
    work = list(state)
    for _ in range(10):
        _quarter(work, 0, 4, 8, 12); _quarter(work, 1, 5, 9, 13)
        _quarter(work, 2, 6, 10, 14); _quarter(work, 3, 7, 11, 15)
        _quarter(work, 0, 5, 10, 15); _quarter(work, 1, 6, 11, 12)
        _quarter(work, 2, 7, 8, 13); _quarter(work, 3, 4, 9, 14)
    return struct.pack("<16I", *[(w + s) & MASK for w, s in zip(work, state)])


def _lp(b):
    return struct.pack("<Q", len(b)) + b


def v2_element(key, value):
    seed = hashlib.sha256(b"opentoken/lthash/v2" + _lp(key) + _lp(value)).digest()
    stream = b"".join(chacha20_block(seed, i, bytes(12)) for i in range(2 * LANES // 64))
    return list(struct.unpack("<%dH" % LANES, stream))


def v1_element(key, value):
    seed = hashlib.sha512(b"opentoken/lthash/v1" + _lp(key) + _lp(value)).digest()
    stream = b"".join(hashlib.sha512(seed + struct.pack("<I", i)).digest() for i in range(32))
    return list(struct.unpack("<%dH" % LANES, stream))


def digest(pairs, element, domain):
    lanes = [0] * LANES
    for k, v in pairs:
        lanes = [(l + x) & 0xFFFF for l, x in zip(lanes, element(k, v))]
    return hashlib.sha256(domain + struct.pack("<%dH" % LANES, *lanes)).hexdigest()


def main():
    # RFC 8439 2.3.2's test vector first, so a broken ChaCha20 here cannot pass silently.
    key = bytes(range(32))
    nonce = bytes.fromhex("000000090000004a00000000")
    assert chacha20_block(key, 1, nonce).hex().startswith("10f1e7e4d13b5915500fdd1fa32071c4"), "RFC 8439 2.3.2"
    alice = v2_element(b"bal/alice", struct.pack(">Q", 1000))
    pairs = [(b"bal/alice", struct.pack(">Q", 1000)), (b"bal/bob", b""), (b"", b"x")]
    print("KAT_ALICE_FIRST_LANES", alice[:4])
    print("KAT_ALICE_LAST_LANE", alice[-1])
    print("KAT_THREE_PAIRS_DIGEST", digest(pairs, v2_element, b"opentoken/lthash-digest/v2"))
    print("KAT_THREE_PAIRS_V1_DIGEST", digest(pairs, v1_element, b"opentoken/lthash-digest/v1"))


if __name__ == "__main__":
    main()
