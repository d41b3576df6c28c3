"""Security across a cluster (etcd plus three brokers in network namespaces,
scripts/cluster.sh) with the authorizer on and only SASL_PLAINTEXT
listeners; the brokers authenticate to one another as User:broker
(SCRAM-SHA-512 on the inter-broker listener), which needs CLUSTER_ACTION:

- without a CLUSTER_ACTION binding for User:broker the followers are
  refused and an acks=all produce with min.insync.replicas=3 to a partition
  led by broker 2 fails; once the binding is created through broker 1 the
  followers replicate and the same produce succeeds; a transaction's COMMIT
  marker reaches the leader the same way (read_committed sees the record);
- a SCRAM user created through broker 1 (AlterUserScramCredentials) logs in
  on brokers 2 and 3;
- a WRITE binding created through broker 1 allows that user's produce on the
  partition broker 2 leads; deleting it through broker 3 denies the produce
  on the partition broker 1 leads within a bounded time.

Needs root (ip netns), /usr/bin/etcd and the compat venv's confluent-kafka
2.x (scripts/setup-compat.sh; the ACL and SCRAM admin APIs), under which
this script re-runs itself.
"""
import os
import sys
import time

VENV_PY = os.path.expanduser("~/.cache/nocopy/compat-venv/bin/python")
import confluent_kafka  # noqa: E402

if int(confluent_kafka.version()[0].split(".")[0]) < 2:
    if not os.access(VENV_PY, os.X_OK):
        print("FAIL: the compat venv's confluent-kafka 2.x (scripts/setup-compat.sh) is needed: %s missing" % VENV_PY)
        sys.exit(1)
    os.execv(VENV_PY, [VENV_PY] + sys.argv)

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType,  # noqa: E402
                                   AdminClient, NewTopic, ResourcePatternType, ResourceType, ScramCredentialInfo,
                                   ScramMechanism, UserScramCredentialUpsertion)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402

fail, wait_for = faults.fail, faults.wait_for
ARGS = ("--listeners SASL_PLAINTEXT://@IP@:9092 --authorizer true --super-users User:admin "
        "--scram-user admin:admin-secret --scram-user broker:broker-secret "
        "--inter-broker-listener-name SASL_PLAINTEXT --inter-broker-sasl-mechanism SCRAM-SHA-512 "
        "--inter-broker-sasl-username broker --inter-broker-sasl-password broker-secret")


def conf(c, user, password, ids):
    return {"bootstrap.servers": c.bootstrap(ids), "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": user, "sasl.password": password,
            "socket.timeout.ms": 5000, "log_level": 0}


def admin(c, ids):
    return AdminClient(conf(c, "admin", "admin-secret", ids))


def results(futs, limit=20):
    return [f.result(limit) for f in futs.values()]


def topic_state(c, topic):
    md = admin(c, (1, 2, 3)).list_topics(topic=topic, timeout=10)
    t = md.topics[topic]
    if t.error:
        return None
    p = t.partitions[0]
    return p.leader, sorted(p.isrs)


def try_produce(c, ids, topic, user=("alice", "alice-secret"), timeout_ms=8000):
    """One acks=all record; the delivery error's name, or None."""
    p = Producer(dict(conf(c, user[0], user[1], ids), **{"acks": "all", "message.timeout.ms": timeout_ms}))
    out = {}
    p.produce(topic, value=b"v", partition=0, on_delivery=lambda err, msg: out.setdefault("err", err))
    p.flush(timeout_ms / 1000 + 4)
    err = out.get("err", "no answer")
    return None if err is None else (err.name() if isinstance(err, KafkaError) else str(err))


def transaction_visible(c, topic):
    """Commits one transactional record as the super user; the seconds until a
    read_committed consumer sees it (its COMMIT marker written by the leader)."""
    t0 = time.time()
    p = Producer(dict(conf(c, "admin", "admin-secret", (1, 2, 3)), **{"transactional.id": "sec-txn"}))
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"txn", partition=0)
    p.commit_transaction(30)
    cons = Consumer(dict(conf(c, "admin", "admin-secret", (1, 2, 3)),
                         **{"group.id": "sec-rc", "isolation.level": "read_committed", "enable.auto.commit": False}))
    cons.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    try:
        while time.time() - t0 < 30:
            m = cons.poll(0.5)
            if m is not None and not m.error() and m.value() == b"txn":
                return time.time() - t0
    finally:
        cons.close()
    fail("the committed transactional record never became visible to read_committed")


def logs_in(c, i):
    try:
        AdminClient(conf(c, "alice", "alice-secret", (i,))).list_topics(timeout=4)
        return True
    except Exception:  # noqa: BLE001  (authentication failed: the user is unknown there yet)
        return False


def scenario(c):
    t0 = time.time()
    a1, a3 = admin(c, (1,)), admin(c, (3,))  # kept alive until their futures resolve
    cfg = {"min.insync.replicas": "3"}
    # Without CLUSTER_ACTION for User:broker the followers are refused: an
    # acks=all produce needing all three replicas cannot complete.
    results(a1.create_topics([NewTopic("sec-0", num_partitions=1, replica_assignment=[[2, 1, 3]], config=cfg)],
                             operation_timeout=10))
    wait_for("sec-0 led by broker 2", lambda: topic_state(c, "sec-0") == (2, [1, 2, 3]), 20)
    err = try_produce(c, (2,), "sec-0", user=("admin", "admin-secret"), timeout_ms=3000)
    if err is None:
        fail("an acks=all produce completed although the followers may not fetch")
    print("without CLUSTER_ACTION for the brokers' user: acks=all produce fails (%s)" % err)
    # Replication needs the brokers' principal to hold CLUSTER_ACTION.
    results(a1.create_acls([AclBinding(
        ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, "User:broker", "*",
        AclOperation.CLUSTER_ACTION, AclPermissionType.ALLOW)], request_timeout=15))
    took, _ = wait_for("the same produce once the followers may fetch",
                       lambda: try_produce(c, (2,), "sec-0", user=("admin", "admin-secret")) is None, 20)
    print("CLUSTER_ACTION granted: acks=all produce on sec-0 completes after %.2f s" % took)
    results(a1.create_topics([NewTopic("sec-a", num_partitions=1, replica_assignment=[[2, 1, 3]], config=cfg),
                                           NewTopic("sec-b", num_partitions=1, replica_assignment=[[1, 2, 3]], config=cfg)],
                                          operation_timeout=10))
    for topic, leader in (("sec-a", 2), ("sec-b", 1)):
        wait_for("%s led by broker %d with a full ISR" % (topic, leader),
                 lambda: topic_state(c, topic) == (leader, [1, 2, 3]), 20)

    # A transaction's markers reach sec-0's leader over the SASL inter-broker listener.
    took = transaction_visible(c, "sec-0")
    print("transactional record committed on sec-0 visible to read_committed after %.2f s" % took)

    # A SCRAM user created through broker 1 logs in on brokers 2 and 3.
    results(a1.alter_user_scram_credentials([UserScramCredentialUpsertion(
        "alice", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"alice-secret")]))
    for i in (2, 3):
        took, _ = wait_for("alice logging in on broker %d" % i, lambda: logs_in(c, i), 10)
        print("alice (created through broker 1) logs in on broker %d after %.2f s" % (i, took))

    # ACLs created through broker 1 allow alice's produce on the partition broker 2 leads.
    if try_produce(c, (2,), "sec-a") != "TOPIC_AUTHORIZATION_FAILED":
        fail("alice produced before any ACL allowed it")
    prefixed = dict(restype=ResourceType.TOPIC, name="sec-", resource_pattern_type=ResourcePatternType.PREFIXED,
                    principal="User:alice", host="*", permission_type=AclPermissionType.ALLOW)
    results(a1.create_acls([AclBinding(operation=AclOperation.DESCRIBE, **prefixed),
                                        AclBinding(operation=AclOperation.WRITE, **prefixed)], request_timeout=15))
    took, _ = wait_for("alice's acks=all produce to sec-a (led by broker 2, min.insync.replicas=3)",
                       lambda: try_produce(c, (2,), "sec-a") is None, 20)
    print("ACL created through broker 1 allows alice on broker 2 after %.2f s; replicated to all 3" % took)
    if try_produce(c, (1,), "sec-b") is not None:
        fail("alice's produce to sec-b (led by broker 1) refused while WRITE is allowed")
    if topic_state(c, "sec-a") != (2, [1, 2, 3]):
        fail("sec-a lost a follower from its ISR: %r" % (topic_state(c, "sec-a"),))

    # Deleted through broker 3: broker 1 denies alice's produce.
    deleted = results(a3.delete_acls([AclBindingFilter(operation=AclOperation.WRITE, **prefixed)],
                                                   request_timeout=15))
    if [len(d) for d in deleted] != [1]:
        fail("DeleteAcls through broker 3 removed %r" % (deleted,))
    t_del = time.time()
    took, _ = wait_for("alice's produce on broker 1 denied",
                       lambda: try_produce(c, (1,), "sec-b") == "TOPIC_AUTHORIZATION_FAILED", 10)
    print("ACL deleted through broker 3: broker 1 denies alice %.2f s later" % (time.time() - t_del))
    print("scenario took %.1f s" % (time.time() - t0))


if __name__ == "__main__":
    faults.run(scenario, ARGS)
