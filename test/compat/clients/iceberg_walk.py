"""Follows an Iceberg table the way an engine plans a scan, with none of
Floe's code: the metadata file (JSON) -> the current snapshot's manifest list
(Avro) -> its manifests (Avro) -> the data files they list. Only Apache's
reference Avro implementation (Debian's python3-avro) and the json module.

usage: iceberg_walk.py <metadata file URI or path>
prints one JSON document on stdout.
"""

import datetime
import json
import sys
from urllib.parse import unquote, urlparse

import avro.datafile
import avro.io


def local(uri):
    return unquote(urlparse(uri).path) if uri.startswith("file:") else uri


def read_avro(uri):
    with open(local(uri), "rb") as f:
        reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        try:
            records = list(reader)
            meta = {k: v.decode("utf-8") for k, v in reader.meta.items() if k != "avro.codec" and k != "avro.sync"}
            return records, meta
        finally:
            reader.close()


def field_ids(avro_schema_json, record_name):
    """name -> field-id of the fields of the named record in an Avro schema."""
    found = {}

    def visit(t):
        if isinstance(t, list):
            for b in t:
                visit(b)
        elif isinstance(t, dict):
            if t.get("type") == "record":
                if t.get("name") == record_name:
                    found.update({f["name"]: f.get("field-id") for f in t["fields"]})
                for f in t["fields"]:
                    visit(f["type"])
            elif t.get("type") == "array":
                visit(t["items"])
            elif t.get("type") == "map":
                visit(t["values"])

    visit(json.loads(avro_schema_json))
    return found


def partition_value(v):
    """Partition values as Iceberg stores them: python3-avro turns the date logical type into a date; back to days."""
    if isinstance(v, datetime.date):
        return (v - datetime.date(1970, 1, 1)).days
    return v


def pairs(kvs, as_hex=False):
    if kvs is None:
        return None
    return {str(kv["key"]): (kv["value"].hex() if as_hex else kv["value"]) for kv in kvs}


def main():
    with open(local(sys.argv[1]), "r", encoding="utf-8") as f:
        metadata = json.load(f)
    current = next(s for s in metadata["snapshots"] if s["snapshot-id"] == metadata["current-snapshot-id"])
    manifest_list, list_meta = read_avro(current["manifest-list"])
    manifests = []
    data_files = []
    entry_ids = None
    data_file_ids = None
    for m in manifest_list:
        entries, meta = read_avro(m["manifest_path"])
        entry_ids = field_ids(meta["avro.schema"], "manifest_entry")
        data_file_ids = field_ids(meta["avro.schema"], "r2")
        manifests.append(
            {
                "path": m["manifest_path"],
                "partition_spec_id": m["partition_spec_id"],
                "content": m["content"],
                "sequence_number": m["sequence_number"],
                "added_files_count": m["added_files_count"],
                "added_rows_count": m["added_rows_count"],
                "meta": {k: v for k, v in meta.items() if k != "avro.schema"},
            }
        )
        for e in entries:
            if e["status"] == 2:  # DELETED
                continue
            d = e["data_file"]
            data_files.append(
                {
                    "path": d["file_path"],
                    "format": d["file_format"],
                    "partition": {k: partition_value(v) for k, v in d["partition"].items()},
                    "record_count": d["record_count"],
                    "file_size_in_bytes": d["file_size_in_bytes"],
                    "column_sizes": pairs(d["column_sizes"]),
                    "value_counts": pairs(d["value_counts"]),
                    "null_value_counts": pairs(d["null_value_counts"]),
                    "lower_bounds": pairs(d["lower_bounds"], True),
                    "upper_bounds": pairs(d["upper_bounds"], True),
                    "split_offsets": d["split_offsets"],
                }
            )
    json.dump(
        {
            "format_version": metadata["format-version"],
            "schema": next(s for s in metadata["schemas"] if s["schema-id"] == metadata["current-schema-id"]),
            "partition_spec": next(s for s in metadata["partition-specs"] if s["spec-id"] == metadata["default-spec-id"]),
            "snapshot_id": current["snapshot-id"],
            "summary": current["summary"],
            "manifest_list_meta": {k: v for k, v in list_meta.items() if k != "avro.schema"},
            "manifest_entry_field_ids": entry_ids,
            "data_file_field_ids": data_file_ids,
            "manifests": manifests,
            "data_files": data_files,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
