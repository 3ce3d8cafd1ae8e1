#!/usr/bin/env python3
"""Reads records of an opentoken topic with a third-party client (kafka-python) and decodes
them with fastavro and nothing but the schema files in schemas/: the proof that the wire
format is standard Avro single-object encoding, routable by the record headers.

usage: read_topic.py BROKER TOPIC SCHEMAS_DIR COUNT
prints one JSON object per record: {"offset", "key", "schema", "record"}; exits non-zero
with a message naming the problem when a record does not decode."""

import io
import json
import os
import sys

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form
from kafka import KafkaConsumer, TopicPartition


def load_schemas(schemas_dir):
    """schema file stem -> (parsed schema, fingerprint as the 8 header bytes)."""
    out = {}
    for name in os.listdir(schemas_dir):
        if not name.endswith(".avsc"):
            continue
        with open(os.path.join(schemas_dir, name)) as f:
            raw = json.load(f)
        parsed = fastavro.parse_schema(raw)
        # CRC-64-AVRO of the parsing canonical form; fastavro's hex lists the bytes in the
        # order the single-object header carries them (little-endian).
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
        out[name[: -len(".avsc")]] = (parsed, fp)
    return out


def main():
    broker, topic, schemas_dir, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    schemas = load_schemas(schemas_dir)
    consumer = KafkaConsumer(
        bootstrap_servers=broker,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20000,
        api_version_auto_timeout_ms=10000,
    )
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    seen = 0
    for msg in consumer:
        headers = {k: v.decode() for k, v in msg.headers}
        value = msg.value
        if value[:2] != b"\xc3\x01":
            sys.exit(f"offset {msg.offset}: not Avro single-object encoded (marker {value[:2]!r})")
        name = headers.get("opentoken.schema")
        if name not in schemas:
            sys.exit(f"offset {msg.offset}: header opentoken.schema={name!r} names no file in {schemas_dir}")
        parsed, fp = schemas[name]
        if value[2:10] != fp:
            sys.exit(f"offset {msg.offset}: fingerprint {value[2:10].hex()} is not that of {name}.avsc ({fp.hex()})")
        if headers.get("opentoken.schema-fingerprint") != value[2:10].hex():
            sys.exit(f"offset {msg.offset}: fingerprint header disagrees with the record")
        buf = io.BytesIO(value[10:])
        record = fastavro.schemaless_reader(buf, parsed)
        if buf.read():
            sys.exit(f"offset {msg.offset}: bytes left after the datum")
        print(json.dumps({"offset": msg.offset, "key": msg.key.hex(), "schema": name, "record": record}, default=str))
        seen += 1
        if seen >= count:
            break
    if seen < count:
        sys.exit(f"read {seen} records of {topic}, expected {count}")


if __name__ == "__main__":
    main()
