"""confluent-kafka-python's SchemaRegistryClient against Floe's registry:
register, look up, check compatibility, evolve, and read the error codes.
Prints one JSON line of what it saw. Usage: confluent_registry.py URL PREFIX"""
import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

url, prefix = sys.argv[1], sys.argv[2]
client = SchemaRegistryClient({'url': url})
subject = prefix + '-value'
out = {}


def record(fields):
    return json.dumps({'type': 'record', 'name': 'Payment', 'namespace': 'com.example', 'fields': fields})


v1 = Schema(record([{'name': 'id', 'type': 'string'}, {'name': 'amount', 'type': 'double'}]), 'AVRO')
v2 = Schema(record([{'name': 'id', 'type': 'string'}, {'name': 'amount', 'type': 'double'},
                    {'name': 'currency', 'type': 'string', 'default': 'EUR'}]), 'AVRO')
bad = Schema(record([{'name': 'id', 'type': 'string'}, {'name': 'amount', 'type': 'double'},
                     {'name': 'region', 'type': 'string'}]), 'AVRO')

out['id1'] = client.register_schema(subject, v1)
out['id1_again'] = client.register_schema(subject, v1)
out['compatible_v2'] = client.test_compatibility(subject, v2)
out['compatible_bad'] = client.test_compatibility(subject, bad)
out['id2'] = client.register_schema(subject, v2)
try:
    client.register_schema(subject, bad)
    out['bad_registered'] = True
except SchemaRegistryError as e:
    out['bad_error'] = [e.http_status_code, e.error_code]
found = client.lookup_schema(subject, v1)
out['lookup'] = [found.schema_id, found.version, found.subject]
latest = client.get_latest_version(subject)
out['latest'] = [latest.schema_id, latest.version, json.loads(latest.schema.schema_str)['fields'][-1]['name']]
out['versions'] = client.get_versions(subject)
out['by_id_type'] = client.get_schema(out['id2']).schema_type
out['subjects_has'] = subject in client.get_subjects()
out['set_compat'] = client.set_compatibility(subject, 'full')
out['get_compat'] = client.get_compatibility(subject)
out['global_compat'] = client.get_compatibility()
js = Schema(json.dumps({'type': 'object', 'properties': {'n': {'type': 'integer'}}}), 'JSON')
out['json_id'] = client.register_schema(prefix + '-json', js)
out['json_type'] = client.get_latest_version(prefix + '-json').schema.schema_type
for name, call in [('missing_subject', lambda: client.get_versions(prefix + '-nobody')),
                   ('missing_version', lambda: client.get_version(subject, 99)),
                   ('missing_id', lambda: client.get_schema(999999)),
                   ('invalid_schema', lambda: client.register_schema(subject, Schema('{"type": "nope"}', 'AVRO')))]:
    try:
        call()
        out[name] = None
    except SchemaRegistryError as e:
        out[name] = [e.http_status_code, e.error_code]
out['deleted'] = client.delete_version(subject, 1)
out['versions_after'] = client.get_versions(subject)
print(json.dumps(out, sort_keys=True))
