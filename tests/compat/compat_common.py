"""Helpers shared by the Maven-based compat tests (tests/compat/java,
tests/compat/kafka-tools): offline Maven builds against the ~/.m2 cache that
scripts/setup-compat.sh fills, and the shared results JSON
($NOCOPY_COMPAT_RESULTS/<client>.json, see docs)."""
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

SETUP_HINT = ("Maven artifacts are not in ~/.m2: run scripts/setup-compat.sh "
              "(it needs Maven Central)")


def results_dir():
    d = os.environ.get("NOCOPY_COMPAT_RESULTS")
    if not d:
        d = os.path.join(os.getcwd(), "compat-results")
    os.makedirs(d, exist_ok=True)
    return d


def work_dir():
    """Where compiled classes and class paths go: beside the results."""
    d = os.path.join(results_dir(), "..", "compat-work")
    os.makedirs(d, exist_ok=True)
    return os.path.abspath(d)


def write_results(client, version, scenarios, versions=None):
    """`versions`: {api label: [versions the client used]} (Broker.versions_used)."""
    path = os.path.join(results_dir(), client + ".json")
    doc = {"client": client, "version": version,
           "scenarios": [{"name": n, "status": s, "reason": r} for n, s, r in scenarios]}
    if versions is not None:
        doc["versions"] = versions
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(path + ".tmp", path)
    print("results: " + path)


# The data-path APIs whose newest version a current client must negotiate
# (label, api key): it uses min(its maximum, the broker's).
NEWEST_CHECKED = (("produce", 0), ("fetch", 1), ("list_offsets", 2), ("metadata", 3))

# The transaction APIs a transaction version 2 producer (Kafka 4.x's Java
# client while the broker finalizes transaction.version 2) sends with
# sendOffsetsToTransaction, each at the newest version the broker advertises:
# EndTxn and TxnOffsetCommit v5 exist only under transaction version 2.
TXN_CHECKED = (("init_producer_id", 22), ("end_txn", 26), ("txn_offset_commit", 28))
# The ones it no longer sends: the brokers add its partitions and groups.
TXN_V1_ONLY = (("add_partitions_to_txn", 24), ("add_offsets_to_txn", 25))


def check_newest(versions, advertised, client_max=None, checked=NEWEST_CHECKED):
    """Why the client did not use the newest advertised version of each
    `checked` API it sent (capped at its own maximum when known), or
    None."""
    bad = []
    for label, key in checked:
        if label not in versions or key not in advertised:
            continue
        want = advertised[key][1]
        if client_max and label in client_max:
            want = min(want, client_max[label])
        if max(versions[label]) != want:
            bad.append("%s: used %s, newest common version %d" % (label, versions[label], want))
    return "; ".join(bad) or None


def pom_property(pom, name, profile_args):
    """A <properties> value of the pom, from the named profile when -P<id> is given."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(pom).getroot()
    value = root.find("m:properties/m:" + name, ns).text
    for arg in profile_args:
        m = re.fullmatch(r"-P(.+)", arg)
        if not m:
            continue
        for p in root.findall("m:profiles/m:profile", ns):
            if p.find("m:id", ns).text == m.group(1):
                v = p.find("m:properties/m:" + name, ns)
                if v is not None:
                    value = v.text
    return value


def maven_build(project_dir, args, out_dir, compile_sources):
    """Runs Maven offline in project_dir; returns the dependency class path.
    Raises RuntimeError with the reason when ~/.m2 lacks what it needs."""
    os.makedirs(out_dir, exist_ok=True)
    cp_file = os.path.join(out_dir, "classpath.txt")
    goals = (["compile"] if compile_sources else []) + ["dependency:build-classpath"]
    cmd = ["mvn", "-o", "-q", "-B", "-f", os.path.join(project_dir, "pom.xml")] + args + goals + \
          ["-Dmdep.outputFile=" + cp_file]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    except FileNotFoundError:
        raise RuntimeError("mvn is not installed: run scripts/setup.sh")
    if p.returncode != 0:
        tail = p.stdout[-3000:]
        if "offline" in tail.lower() or "could not resolve" in tail.lower() or "cannot access" in tail.lower():
            raise RuntimeError(SETUP_HINT + "\n" + tail)
        raise RuntimeError("maven build failed:\n" + tail)
    with open(cp_file) as f:
        return f.read().strip()
