"""One client action for test_acl.py, run by the compat venv's confluent-kafka
(2.x: the ACL admin API). argv: JSON {"conf": {...}, "action": ..., ...};
prints one JSON line with the outcome. Every call is bounded by timeouts."""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   ResourcePatternType, ResourceType)


def binding(b, cls=AclBinding):
    def enum(kind, v):
        return None if v is None else kind[v]
    return cls(enum(ResourceType, b["type"]), b.get("name"), enum(ResourcePatternType, b["pattern"]),
               b.get("principal"), b.get("host"), enum(AclOperation, b["op"]), enum(AclPermissionType, b["perm"]))


def as_dict(a):
    return {"type": a.restype.name, "name": a.name, "pattern": a.resource_pattern_type.name,
            "principal": a.principal, "host": a.host, "op": a.operation.name, "perm": a.permission_type.name}


def error_name(e):
    if isinstance(e, KafkaException):
        e = e.args[0]
    return e.name() if isinstance(e, KafkaError) else str(e)


def main():
    req = json.loads(sys.argv[1])
    conf, action = req["conf"], req["action"]
    out = {}
    admin = AdminClient(conf)  # kept alive until its futures resolve
    if action == "create_acls":
        futs = admin.create_acls([binding(b) for b in req["bindings"]], request_timeout=15)
        out["errors"] = []
        for f in futs.values():
            try:
                f.result(timeout=20)
                out["errors"].append(None)
            except Exception as e:  # noqa: BLE001
                out["errors"].append(error_name(e))
    elif action == "describe_acls":
        try:
            acls = admin.describe_acls(binding(req["filter"], AclBindingFilter),
                                                   request_timeout=15).result(timeout=20)
            out["acls"] = sorted((as_dict(a) for a in acls), key=json.dumps)
        except Exception as e:  # noqa: BLE001
            out["error"] = error_name(e)
    elif action == "delete_acls":
        futs = admin.delete_acls([binding(f, AclBindingFilter) for f in req["filters"]],
                                             request_timeout=15)
        out["deleted"] = [len(f.result(timeout=20)) for f in futs.values()]
    elif action == "list_topics":
        md = admin.list_topics(timeout=15)
        out["topics"] = {n: (t.error.name() if t.error else None) for n, t in md.topics.items()}
    elif action == "produce":
        p = Producer(dict(conf, **{"message.timeout.ms": 8000}))
        errors = []
        for v in req["values"]:
            p.produce(req["topic"], v.encode(), on_delivery=lambda e, m: errors.append(e.name() if e else None))
        p.flush(15)
        out["errors"] = errors
    elif action == "consume":
        c = Consumer(dict(conf, **{"group.id": req["group"], "auto.offset.reset": "earliest",
                                   "enable.auto.commit": False}))
        c.subscribe([req["topic"]])
        got, errors, deadline = [], [], time.time() + req.get("seconds", 15)
        while len(got) < req["n"] and time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                errors.append(m.error().name())
                if m.error().code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED):
                    break
                continue
            got.append(m.value().decode())
        if got:
            try:
                c.commit(asynchronous=False)
            except KafkaException as e:
                errors.append(error_name(e))
        c.close()
        out.update(values=got, errors=errors)
    print(json.dumps(out))


main()
