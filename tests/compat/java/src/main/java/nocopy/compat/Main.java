package nocopy.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The Java client compatibility scenarios against one running nocopy broker.
 *
 * Usage: Main BOOTSTRAP [scenario...]. Each scenario prints one line
 * "SCENARIO name pass|fail|xfail reason" on stdout. A scenario that needs the
 * broker restarted prints "RESTART SIGTERM" or "RESTART SIGKILL" and blocks
 * until the driver (run.py) answers "OK" on stdin, the broker listening again
 * on the same address with the same data directory. The cluster scenario
 * (streams_eos_cluster, run by tests/cluster/test_streams_eos_cluster.py
 * against three brokers) prints "KILL node" for a SIGKILL of that broker.
 * txn_zombie_fenced and streams_eos_rebalance are not in the default list either; ctest runs
 * each against a broker of its own (run_scenario.py).
 */
public final class Main {
    static final List<String> ALL = List.of(
            "produce_idempotent_keys", "consume_group_commit", "restart_sigterm", "restart_sigkill",
            "admin_create_delete_topics", "admin_describe_topics", "admin_describe_groups",
            "admin_describe_configs", "streams_wordcount_alos", "streams_wordcount_compacted_changelog",
            "streams_eos", "streams_eos_restart", "transactions_commit_abort", "admin_list_offsets");

    private static final BufferedReader STDIN =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

    /** Asks the driver to restart the broker with the given signal; returns once it is back. */
    static void restartBroker(String signal) throws Exception {
        askDriver("RESTART " + signal);
    }

    /**
     * Prints a request to the driver ("RESTART SIGKILL"; a cluster driver also takes "KILL node")
     * and returns once it answers "OK".
     */
    static synchronized void askDriver(String request) throws Exception {
        System.out.println(request);
        System.out.flush();
        String line = STDIN.readLine();
        if (!"OK".equals(line)) {
            throw new IllegalStateException("driver did not do \"" + request + "\": " + line);
        }
    }

    static void report(String name, String status, String reason) {
        String r = reason == null ? "" : reason.replace('\n', ' ').replace('\r', ' ');
        System.out.println("SCENARIO " + name + " " + status + " " + r);
        System.out.flush();
    }

    /** One scenario by name. */
    interface Runner {
        Scenarios.Outcome run(String name) throws Exception;
    }

    /**
     * Runs the scenarios named in args[first..] (all of `all` when none is named) one after
     * another, reporting each; a scenario that throws fails. Returns whether any failed.
     */
    static boolean runAll(String[] args, int first, List<String> all, Runner runner) {
        List<String> wanted = new ArrayList<>();
        for (int i = first; i < args.length; i++) {
            wanted.add(args[i]);
        }
        if (wanted.isEmpty()) {
            wanted.addAll(all);
        }
        boolean failed = false;
        for (String name : wanted) {
            long t0 = System.nanoTime();
            String status;
            String reason;
            try {
                Scenarios.Outcome o = runner.run(name);
                status = o.status;
                reason = o.reason;
            } catch (Throwable e) {
                status = "fail";
                reason = Scenarios.describe(e);
                e.printStackTrace();
            }
            System.err.printf("scenario %s: %s in %.1f s %s%n", name, status,
                    (System.nanoTime() - t0) / 1e9, reason == null ? "" : reason);
            report(name, status, reason);
            failed |= status.equals("fail");
        }
        return failed;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: Main BOOTSTRAP [scenario...]");
            System.exit(2);
        }
        String bootstrap = args[0];
        Scenarios s = new Scenarios(bootstrap);
        boolean failed = runAll(args, 1, ALL, s::run);
        s.close();
        System.exit(failed ? 1 : 0);
    }

    private Main() {}
}
