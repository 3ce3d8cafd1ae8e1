#!/usr/bin/env python3
"""opentoken's stable identifiers recomputed from their documentation
(docs/architecture.md, "Identifiers"), independent of the Rust crates: RFC 4122's
name-based version 5 with Python's standard hashlib and uuid modules, over the documented
name bytes. It prints the known answers that
services/core/src/id.rs pins (one `label uuid` line each), and that module's test runs it and
compares, so the Rust derivation is the documented one.

    python3 tools/ids.py

The name of an id is its kind followed by its parts, every one written as its length (8
bytes, big-endian) and its bytes; numbers are their fixed-width big-endian bytes (block:
8, transaction and op index, event number: 4, outflow number: 8). The namespace is
uuid5(NAMESPACE_URL, "opentoken.dlux.io/ids/v1").
"""
import hashlib
import struct
import uuid

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "opentoken.dlux.io/ids/v1")


def _part(b):
    return struct.pack(">Q", len(b)) + b


def _name(kind, *parts):
    return b"".join(_part(p) for p in (kind.encode(),) + parts)


def _pos(block, trx, op):
    return [struct.pack(">Q", block), struct.pack(">I", trx), struct.pack(">I", op)]


def _uuid(name):
    """uuid.uuid5 for a bytes name (before Python 3.12 it takes str only): the first 16
    bytes of SHA-1(namespace || name), version 5, RFC 4122 variant."""
    return uuid.UUID(bytes=hashlib.sha1(NAMESPACE.bytes + name).digest()[:16], version=5)


def event(community, module, block, trx, op, seq):
    return _uuid(_name("event", community.encode(), module.encode(), *_pos(block, trx, op), struct.pack(">I", seq)))


def op_status(community, module, txid, block, trx, op):
    return _uuid(_name("status", community.encode(), module.encode(), txid.encode(), *_pos(block, trx, op)))


def outflow(community, module, seq):
    return _uuid(_name("outflow", community.encode(), module.encode(), struct.pack(">Q", seq)))


# The inputs the Rust test pins (services/core/src/id.rs, `KNOWN`): keep them in step.
ANSWERS = [
    ("namespace", NAMESPACE),
    ("event dlux token 5:0:0 #0", event("dlux", "token", 5, 0, 0, 0)),
    ("event dlux token 5:1:2 #3", event("dlux", "token", 5, 1, 2, 3)),
    ("event dlux nodes 5:4294967295:0 #1", event("dlux", "nodes", 5, 0xFFFFFFFF, 0, 1)),
    ("status dlux token abc 7:1:0", op_status("dlux", "token", "abc", 7, 1, 0)),
    (
        "status dlux multisig msg 9:4294967295:0",
        op_status("dlux", "multisig", "msg:token:9:4294967295:0:0", 9, 0xFFFFFFFF, 0),
    ),
    ("outflow dlux multisig 0", outflow("dlux", "multisig", 0)),
    ("outflow dlux multisig 42", outflow("dlux", "multisig", 42)),
]

if __name__ == "__main__":
    for label, value in ANSWERS:
        print(f"{label}\t{value}")
