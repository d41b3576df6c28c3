package nocopy.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Producer, consumer, restart and admin scenarios; Streams ones are in StreamsScenarios. */
final class Scenarios implements AutoCloseable {
    static final class Outcome {
        final String status;
        final String reason;

        Outcome(String status, String reason) {
            this.status = status;
            this.reason = reason;
        }

        static Outcome pass(String reason) {
            return new Outcome("pass", reason);
        }
    }

    static final String KEYED_TOPIC = "java-keyed";
    static final int KEYED_PARTITIONS = 6;
    static final int KEYED_RECORDS = 3000;
    static final String GROUP = "java-group";

    final String bootstrap;
    final Admin admin;

    Scenarios(String bootstrap) {
        this.bootstrap = bootstrap;
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60000);
        this.admin = Admin.create(p);
    }

    static String describe(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (b.length() > 0) {
                b.append(" <- ");
            }
            b.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        }
        return b.toString();
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    Outcome run(String name) throws Exception {
        switch (name) {
            case "produce_idempotent_keys": return produceIdempotentKeys();
            case "consume_group_commit": return consumeGroupCommit();
            case "restart_sigterm": return restart("SIGTERM");
            case "restart_sigkill": return restart("SIGKILL");
            case "admin_create_delete_topics": return adminCreateDelete();
            case "admin_describe_topics": return adminDescribeTopics();
            case "admin_describe_groups": return adminDescribeGroups();
            case "admin_describe_configs": return adminDescribeConfigs();
            case "streams_wordcount_alos": return new StreamsScenarios(this).wordCountAtLeastOnce();
            case "streams_wordcount_compacted_changelog":
                return new StreamsScenarios(this).wordCountCompactedChangelog();
            case "streams_eos": return new StreamsScenarios(this).exactlyOnce();
            case "streams_eos_restart": return new StreamsScenarios(this).exactlyOnceAcrossRestart();
            case "streams_eos_rebalance": return new StreamsScenarios(this).exactlyOnceRebalance();
            case "streams_eos_cluster": return new ClusterStreamsScenario(this, new StreamsScenarios(this)).run();
            case "txn_zombie_fenced": return new ZombieTxnScenario(this).run();
            case "transactions_commit_abort": return transactionsCommitAbort();
            case "admin_list_offsets": return adminListOffsets();
            default: throw new IllegalArgumentException("unknown scenario " + name);
        }
    }

    /**
     * ListOffsets as Kafka answers it: a timestamp finds the first record (in
     * offset order) at or after it and answers that record's own timestamp;
     * maxTimestamp() the first record with the largest timestamp.
     */
    Outcome adminListOffsets() throws Exception {
        String topic = "java-list-offsets";
        createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        long t0 = System.currentTimeMillis() - 60000;
        long[] ts = {t0, t0 + 10, t0 + 50, t0 + 20, t0 + 50, t0 + 30};
        try (KafkaProducer<String, String> p = new KafkaProducer<>(producerProps())) {
            for (int i = 0; i < ts.length; i++) {
                p.send(new ProducerRecord<>(topic, 0, ts[i], "k" + i, "v" + i)).get(60, TimeUnit.SECONDS);
            }
        }
        ListOffsetsResult.ListOffsetsResultInfo max = listOffset(tp, OffsetSpec.maxTimestamp());
        check(max.offset() == 2 && max.timestamp() == t0 + 50,
                "maxTimestamp: offset " + max.offset() + " at t0+" + (max.timestamp() - t0) + ", want 2 at t0+50");
        ListOffsetsResult.ListOffsetsResultInfo byTime = listOffset(tp, OffsetSpec.forTimestamp(t0 + 15));
        check(byTime.offset() == 2 && byTime.timestamp() == t0 + 50,
                "forTimestamp(t0+15): offset " + byTime.offset() + " at t0+" + (byTime.timestamp() - t0));
        check(listOffset(tp, OffsetSpec.earliest()).offset() == 0, "earliest");
        check(listOffset(tp, OffsetSpec.latest()).offset() == ts.length, "latest");
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(null))) {
            OffsetAndTimestamp o = c.offsetsForTimes(Map.of(tp, t0 + 5), Duration.ofSeconds(60)).get(tp);
            check(o != null && o.offset() == 1 && o.timestamp() == t0 + 10, "offsetsForTimes(t0+5): " + o);
            check(c.offsetsForTimes(Map.of(tp, t0 + 51), Duration.ofSeconds(60)).get(tp) == null,
                    "offsetsForTimes after the last record found one");
        }
        return Outcome.pass("maxTimestamp offset 2, forTimestamp the record's own timestamp, earliest/latest 0/6");
    }

    private ListOffsetsResult.ListOffsetsResultInfo listOffset(TopicPartition tp, OffsetSpec spec) throws Exception {
        return admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get(60, TimeUnit.SECONDS);
    }

    Properties producerProps() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30000);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return p;
    }

    Properties consumerProps(String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put("group.protocol", "classic");
        }
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 200);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return p;
    }

    void createTopic(String topic, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);
    }

    static String key(int seq) {
        return "key-" + (seq % 50);
    }

    static String value(int seq) {
        return "seq-" + seq;
    }

    static int seqOf(ConsumerRecord<String, String> r) {
        check(r.value() != null && r.value().startsWith("seq-"), "unexpected value " + r.value());
        int seq = Integer.parseInt(r.value().substring(4));
        check(key(seq).equals(r.key()), "record seq " + seq + " has key " + r.key());
        return seq;
    }

    /**
     * Reads every partition of the topic from the beginning without a group and checks the log
     * holds each sequence number 0..n-1 exactly once, each key on one partition in order.
     */
    void verifyLog(String topic, int n) {
        verifyLog(topic, n, false);
    }

    /** verifyLog, reading with read_committed (records of aborted transactions skipped) when asked. */
    void verifyLog(String topic, int n, boolean readCommitted) {
        Properties props = consumerProps(null);
        if (readCommitted) {
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        }
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props)) {
            List<TopicPartition> tps = new ArrayList<>();
            c.partitionsFor(topic, Duration.ofSeconds(30)).forEach(pi -> tps.add(new TopicPartition(topic, pi.partition())));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            int[] seen = new int[n];
            Map<String, Integer> lastSeqOfKey = new HashMap<>();
            Map<String, Integer> partitionOfKey = new HashMap<>();
            long total = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!caughtUp(c, tps, end)) {
                check(System.nanoTime() < deadline, "timed out reading " + topic + " back: " + total + " records");
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    int seq = seqOf(r);
                    check(seq < n, "sequence " + seq + " beyond " + n);
                    seen[seq]++;
                    total++;
                    Integer prev = lastSeqOfKey.put(r.key(), seq);
                    check(prev == null || prev < seq, "key " + r.key() + ": seq " + seq + " after " + prev);
                    Integer part = partitionOfKey.putIfAbsent(r.key(), r.partition());
                    check(part == null || part == r.partition(), "key " + r.key() + " on two partitions");
                }
            }
            for (int i = 0; i < n; i++) {
                check(seen[i] == 1, "sequence " + i + " is in the log " + seen[i] + " times");
            }
            check(total == n, "log holds " + total + " records, expected " + n);
        }
    }

    private static boolean caughtUp(KafkaConsumer<?, ?> c, List<TopicPartition> tps, Map<TopicPartition, Long> end) {
        for (TopicPartition tp : tps) {
            if (c.position(tp) < end.get(tp)) {
                return false;
            }
        }
        return true;
    }

    Outcome produceIdempotentKeys() throws Exception {
        createTopic(KEYED_TOPIC, KEYED_PARTITIONS);
        try (KafkaProducer<String, String> p = new KafkaProducer<>(producerProps())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < KEYED_RECORDS; i++) {
                acks.add(p.send(new ProducerRecord<>(KEYED_TOPIC, key(i), value(i))));
            }
            p.flush();
            Set<Integer> partitions = new HashSet<>();
            for (Future<RecordMetadata> f : acks) {
                RecordMetadata m = f.get(60, TimeUnit.SECONDS);
                check(m.offset() >= 0, "acknowledged without an offset");
                partitions.add(m.partition());
            }
            check(partitions.size() == KEYED_PARTITIONS, "keys landed on " + partitions.size() + " partitions");
        }
        verifyLog(KEYED_TOPIC, KEYED_RECORDS);
        return Outcome.pass(KEYED_RECORDS + " keyed records on " + KEYED_PARTITIONS + " partitions, each once");
    }

    /** Polls in the group, committing after each batch, until `limit` records or the log end. */
    static int consumeCommitting(KafkaConsumer<String, String> c, int[] seen, int limit, long timeoutMs) {
        int got = 0;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (got < limit && System.nanoTime() < deadline) {
            ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(500));
            for (ConsumerRecord<String, String> r : rs) {
                seen[seqOf(r)]++;
                got++;
            }
            if (!rs.isEmpty()) {
                c.commitSync(Duration.ofSeconds(30));
            }
        }
        return got;
    }

    /** One session of a transactional producer: n records from `from` in one transaction, then commit or abort. */
    void transactionSession(String topic, String txnId, int from, int n, boolean commit) {
        Properties props = producerProps();
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        try (KafkaProducer<String, String> p = new KafkaProducer<>(props)) {
            p.initTransactions();
            p.beginTransaction();
            for (int i = from; i < from + n; i++) {
                p.send(new ProducerRecord<>(topic, key(i), value(i)));
            }
            p.flush();
            if (commit) {
                p.commitTransaction();
            } else {
                p.abortTransaction();
            }
        }
    }

    /**
     * Commit, abort, commit by one transactional id (each session fences the last); a
     * read_committed group member reads the committed records once and none of the aborted ones,
     * which lie between them in the log.
     */
    Outcome transactionsCommitAbort() throws Exception {
        String topic = "compat-txn";
        createTopic(topic, 3);
        transactionSession(topic, "compat-java-txn", 0, 200, true);
        transactionSession(topic, "compat-java-txn", 1000, 200, false);
        transactionSession(topic, "compat-java-txn", 200, 200, true);
        int[] seen = new int[1200];
        Properties props = consumerProps(GROUP + "-txn");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        int got;
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props)) {
            c.subscribe(List.of(topic));
            got = consumeCommitting(c, seen, 400, 60000);
        }
        for (int i = 0; i < 400; i++) {
            check(seen[i] == 1, "committed sequence " + i + " consumed " + seen[i] + " times");
        }
        for (int i = 1000; i < 1200; i++) {
            check(seen[i] == 0, "aborted sequence " + i + " consumed by a read_committed member");
        }
        check(got == 400, "read " + got + " records, expected the 400 committed ones");
        return Outcome.pass("400 committed records read once, 200 aborted ones never");
    }

    Outcome consumeGroupCommit() throws Exception {
        int[] seen = new int[KEYED_RECORDS];
        int first;
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(GROUP))) {
            c.subscribe(List.of(KEYED_TOPIC));
            first = consumeCommitting(c, seen, KEYED_RECORDS / 2, 60000);
        }
        // A second member of the same group resumes from the committed offsets.
        int second;
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(GROUP))) {
            c.subscribe(List.of(KEYED_TOPIC));
            second = consumeCommitting(c, seen, KEYED_RECORDS - first, 60000);
        }
        for (int i = 0; i < KEYED_RECORDS; i++) {
            check(seen[i] == 1, "sequence " + i + " consumed " + seen[i] + " times");
        }
        Map<TopicPartition, OffsetAndMetadata> committed =
                admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get(60, TimeUnit.SECONDS);
        long sum = 0;
        for (OffsetAndMetadata m : committed.values()) {
            sum += m.offset();
        }
        check(committed.size() == KEYED_PARTITIONS, "offsets committed for " + committed.size() + " partitions");
        check(sum == KEYED_RECORDS, "committed offsets sum to " + sum);
        return Outcome.pass("group read " + first + " then resumed for " + second + ", no duplicates");
    }

    /**
     * A producer and a committing group consumer run while the broker restarts with the signal;
     * the log must then hold every sequence number exactly once (idempotence) and the consumer
     * must have seen each at least once (at-least-once across the restart).
     */
    Outcome restart(String signal) throws Exception {
        String topic = "java-restart-" + signal.toLowerCase();
        int n = 4000;
        createTopic(topic, 3);
        int[] seen = new int[n];
        AtomicReference<Throwable> consumerError = new AtomicReference<>();
        Thread consumer = new Thread(() -> {
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps("java-restart-" + signal))) {
                c.subscribe(List.of(topic));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
                while (System.nanoTime() < deadline && !allSeen(seen)) {
                    ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(300));
                    for (ConsumerRecord<String, String> r : rs) {
                        synchronized (seen) {
                            seen[seqOf(r)]++;
                        }
                    }
                    if (!rs.isEmpty()) {
                        try {
                            c.commitSync(Duration.ofSeconds(30));
                        } catch (org.apache.kafka.common.errors.RetriableException e) {
                            // the broker is restarting: the next commit covers these records
                        }
                    }
                }
            } catch (Throwable e) {
                consumerError.set(e);
            }
        });
        consumer.start();
        try (KafkaProducer<String, String> p = new KafkaProducer<>(producerProps())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                acks.add(p.send(new ProducerRecord<>(topic, key(i), value(i))));
                if (i == n / 3) {
                    p.flush();
                    Main.restartBroker(signal);
                } else if (i % 100 == 0) {
                    Thread.sleep(20);
                }
            }
            p.flush();
            for (Future<RecordMetadata> f : acks) {
                f.get(120, TimeUnit.SECONDS);
            }
        }
        consumer.join(TimeUnit.SECONDS.toMillis(180));
        check(!consumer.isAlive(), "consumer did not finish");
        if (consumerError.get() != null) {
            throw new AssertionError("consumer failed: " + describe(consumerError.get()), consumerError.get());
        }
        int dups = 0;
        synchronized (seen) {
            for (int i = 0; i < n; i++) {
                check(seen[i] >= 1, "sequence " + i + " never consumed");
                dups += seen[i] - 1;
            }
        }
        verifyLog(topic, n);
        return Outcome.pass(n + " records across a " + signal + " restart, each in the log once; "
                + dups + " redelivered to the group after the restart (at-least-once)");
    }

    private static boolean allSeen(int[] seen) {
        synchronized (seen) {
            for (int s : seen) {
                if (s == 0) {
                    return false;
                }
            }
        }
        return true;
    }

    Outcome adminCreateDelete() throws Exception {
        String a = "java-admin-a";
        String b = "java-admin-b";
        admin.createTopics(List.of(new NewTopic(a, 3, (short) 1),
                new NewTopic(b, 1, (short) 1).configs(Map.of("retention.ms", "3600000"))))
                .all().get(60, TimeUnit.SECONDS);
        Set<String> names = admin.listTopics().names().get(60, TimeUnit.SECONDS);
        check(names.contains(a) && names.contains(b), "created topics not listed: " + names);
        // Creating an existing topic fails with TopicExistsException.
        try {
            admin.createTopics(List.of(new NewTopic(a, 3, (short) 1))).all().get(60, TimeUnit.SECONDS);
            throw new AssertionError("creating an existing topic succeeded");
        } catch (java.util.concurrent.ExecutionException e) {
            check(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException,
                    "duplicate create failed with " + describe(e.getCause()));
        }
        admin.deleteTopics(List.of(a, b)).all().get(60, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            names = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            if (!names.contains(a) && !names.contains(b)) {
                break;
            }
            check(System.nanoTime() < deadline, "deleted topics still listed: " + names);
            Thread.sleep(200);
        }
        return Outcome.pass("created 2 topics (one with a config), duplicate rejected, deleted");
    }

    Outcome adminDescribeTopics() throws Exception {
        Map<String, TopicDescription> d =
                admin.describeTopics(List.of(KEYED_TOPIC)).allTopicNames().get(60, TimeUnit.SECONDS);
        TopicDescription t = d.get(KEYED_TOPIC);
        check(t != null, "no description");
        check(t.partitions().size() == KEYED_PARTITIONS, "partitions: " + t.partitions().size());
        t.partitions().forEach(p -> check(p.leader() != null && p.replicas().size() == 1, "partition " + p));
        Collection<org.apache.kafka.common.Node> nodes = admin.describeCluster().nodes().get(60, TimeUnit.SECONDS);
        check(nodes.size() == 1, "cluster nodes: " + nodes);
        return Outcome.pass(KEYED_PARTITIONS + " partitions, each led by the one node");
    }

    Outcome adminDescribeGroups() throws Exception {
        Map<String, ConsumerGroupDescription> d =
                admin.describeConsumerGroups(List.of(GROUP)).all().get(60, TimeUnit.SECONDS);
        ConsumerGroupDescription g = d.get(GROUP);
        check(g != null, "no description");
        check(g.members().isEmpty(), "members of an idle group: " + g.members());
        String state = String.valueOf(stateOf(g));
        check(state.equalsIgnoreCase("EMPTY"), "state " + state);
        check(g.coordinator() != null, "no coordinator");
        Collection<?> listed = admin.listConsumerGroups().all().get(60, TimeUnit.SECONDS);
        check(listed.toString().contains(GROUP), "group not listed: " + listed);
        return Outcome.pass("group listed, described Empty with its coordinator");
    }

    /** The group state under either client line's API (state() went away in 4.x). */
    private static Object stateOf(ConsumerGroupDescription g) throws Exception {
        for (String m : new String[] {"groupState", "state"}) {
            try {
                return ConsumerGroupDescription.class.getMethod(m).invoke(g);
            } catch (NoSuchMethodException e) {
                // try the other name
            }
        }
        throw new AssertionError("no state accessor");
    }

    Outcome adminDescribeConfigs() throws Exception {
        ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, KEYED_TOPIC);
        org.apache.kafka.common.Node node = admin.describeCluster().nodes().get(60, TimeUnit.SECONDS).iterator().next();
        ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, node.idString());
        Map<ConfigResource, Config> d = admin.describeConfigs(List.of(topic, broker)).all().get(60, TimeUnit.SECONDS);
        Config tc = d.get(topic);
        check(tc != null && !tc.entries().isEmpty(), "no topic configs");
        ConfigEntry ret = tc.get("retention.ms");
        check(ret != null && ret.value() != null, "topic has no retention.ms");
        Config bc = d.get(broker);
        check(bc != null, "no broker configs");
        return Outcome.pass(tc.entries().size() + " topic configs (retention.ms=" + ret.value() + "), "
                + bc.entries().size() + " broker configs");
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(10));
    }
}
