"""The command line every Python client program of the compatibility tests
shares (tests/compat/driver.py documents the commands): parses argv, runs one
operation of the client's Ops object, prints its JSON result, or the reason on
stderr with exit status 1."""
import json
import sys
import traceback


def key(i):
    return "k%d" % (i % 50)


def main(ops):
    if len(sys.argv) < 3:
        sys.exit("usage: %s <bootstrap> <command> [args]" % sys.argv[0])
    addr, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    ints = {"create": [1], "produce": [1, 2, 3], "consume": [2, 3], "consume_committed": [2, 3],
            "txn_produce": [2, 3]}.get(cmd, [])
    args = [int(a) if i in ints else a for i, a in enumerate(args)]
    fn = getattr(ops, cmd, None)
    if fn is None:
        sys.exit("unknown command %r" % cmd)
    try:
        out = fn(addr, *args)
    except Exception as e:  # the driver records the reason
        traceback.print_exc()
        sys.stderr.write("%s: %s: %s\n" % (cmd, type(e).__name__, e))
        sys.exit(1)
    print(json.dumps(out))
