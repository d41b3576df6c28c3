package nocopy.compat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/**
 * streams_eos_cluster: the word count under exactly_once_v2 against three brokers, where the
 * group's __consumer_offsets partition and the stream thread's transactional id's
 * __transaction_state partition are led by different brokers -- so the offsets of every
 * transaction go to the group's coordinator (TxnOffsetCommit), are kept pending there and made
 * visible by the marker the transaction's coordinator sends it. Streams' process id (and so its
 * transactional id, "app-processId-1") is chosen through the process file of its state directory.
 * Mid-run the group coordinator's broker is SIGKILLed (the driver does it on "KILL node"); another
 * broker loads the group's partition with whatever offsets were pending. Read with
 * read_committed, the output must hold exactly the expected counts, and the group's committed
 * offsets (read with require_stable) must reach the end of the input.
 */
final class ClusterStreamsScenario {
    private static final String APP = "java-wc-eos-cluster";
    private final Scenarios s;
    private final StreamsScenarios streams;

    ClusterStreamsScenario(Scenarios s, StreamsScenarios streams) {
        this.s = s;
        this.streams = streams;
    }

    /** Kafka's coordinator partition: Utils.abs(key.hashCode()) % partitions. */
    static int partitionOf(String key, int partitions) {
        int h = key.hashCode();
        return (h == Integer.MIN_VALUE ? 0 : Math.abs(h)) % partitions;
    }

    /** Leader node id per partition of `topic`, once every partition has one. */
    private Map<Integer, Integer> leaders(String topic) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            TopicDescription d = s.admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(topic);
            Map<Integer, Integer> m = new java.util.HashMap<>();
            d.partitions().forEach(p -> {
                if (p.leader() != null && p.leader().id() >= 0) {
                    m.put(p.partition(), p.leader().id());
                }
            });
            if (m.size() == d.partitions().size()) {
                return m;
            }
            Scenarios.check(System.nanoTime() < deadline, topic + ": partitions without a leader: " + d);
            Thread.sleep(200);
        }
    }

    /** Looking up a group and a transactional id makes the brokers create the internal topics. */
    private void createInternalTopics() throws Exception {
        s.admin.listConsumerGroupOffsets(APP).partitionsToOffsetAndMetadata().get(60, TimeUnit.SECONDS);
        try {
            s.admin.describeTransactions(List.of(APP + "-probe")).all().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            // TRANSACTIONAL_ID_NOT_FOUND: the coordinator answered, the topic exists.
        }
    }

    /**
     * The group's committed offsets (OffsetFetch with require_stable: none pending) reach the end of
     * every input partition: the transactions' offsets became the group's, across the failover.
     */
    private void checkCommittedOffsets(String in) throws Exception {
        Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
        for (int q = 0; q < 3; q++) {
            latest.put(new TopicPartition(in, q), OffsetSpec.latest());
        }
        Map<TopicPartition, Long> ends = new java.util.HashMap<>();
        s.admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS).forEach((tp, r) -> ends.put(tp, r.offset()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        Map<TopicPartition, Long> committed = new java.util.HashMap<>();
        while (!committed.equals(ends) && System.nanoTime() < deadline) {
            committed.clear();
            s.admin.listConsumerGroupOffsets(APP, new ListConsumerGroupOffsetsOptions().requireStable(true))
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS)
                    .forEach((tp, o) -> {
                        if (tp.topic().equals(in) && o != null) {
                            committed.put(tp, o.offset());
                        }
                    });
            Thread.sleep(200);
        }
        Scenarios.check(committed.equals(ends), "committed offsets " + committed + " != input ends " + ends);
    }

    Scenarios.Outcome run() throws Exception {
        String in = APP + "-in";
        String out = APP + "-out";
        Map<String, String> isr = Map.of("min.insync.replicas", "2");
        s.admin.createTopics(List.of(new NewTopic(in, 3, (short) 3).configs(isr),
                new NewTopic(out, 3, (short) 3).configs(isr))).all().get(60, TimeUnit.SECONDS);
        createInternalTopics();
        Map<Integer, Integer> offsetsLeaders = leaders("__consumer_offsets");
        Map<Integer, Integer> stateLeaders = leaders("__transaction_state");
        int groupPartition = partitionOf(APP, offsetsLeaders.size());
        int groupCoordinator = offsetsLeaders.get(groupPartition);
        UUID processId = null;
        String txnId = null;
        for (int i = 0; processId == null; i++) {
            UUID candidate = UUID.nameUUIDFromBytes((APP + i).getBytes(StandardCharsets.UTF_8));
            String id = APP + "-" + candidate + "-1";
            if (stateLeaders.get(partitionOf(id, stateLeaders.size())) != groupCoordinator) {
                processId = candidate;
                txnId = id;
            }
        }
        int txnCoordinator = stateLeaders.get(partitionOf(txnId, stateLeaders.size()));
        Path stateDir = Files.createTempDirectory("nocopy-streams-cluster-");
        Files.createDirectories(stateDir.resolve(APP));
        Files.writeString(stateDir.resolve(APP).resolve("kafka-streams-process-metadata"),
                "{\"processId\":\"" + processId + "\"}");
        Properties extra = new Properties();
        extra.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        extra.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
        extra.put(StreamsConfig.topicPrefix("min.insync.replicas"), "2");
        return runStreams(in, out, extra, txnId, groupCoordinator, txnCoordinator, groupPartition);
    }

    private Scenarios.Outcome runStreams(String in, String out, Properties extra, String txnId, int groupCoordinator,
                                         int txnCoordinator, int groupPartition) throws Exception {
        int rounds = StreamsScenarios.ROUNDS;
        AtomicReference<Throwable> never = new AtomicReference<>();
        AtomicInteger replaced = new AtomicInteger();
        try (KafkaProducer<String, String> p = new KafkaProducer<>(s.producerProps());
             KafkaStreams ks = streams.build(APP, in, out, StreamsConfig.EXACTLY_ONCE_V2, true, extra)) {
            ks.setUncaughtExceptionHandler(e -> {
                replaced.incrementAndGet();
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            });
            StreamsScenarios.produceRounds(p, in, 0, rounds / 2);
            ks.start();
            Map<String, Long> half = StreamsScenarios.expectedCounts(rounds / 2);
            Map<String, Long> first = streams.readCounts(out, half, never, 40, true);
            Scenarios.check(first.equals(half), "before the kill: counts " + first + " != expected " + half);
            TransactionDescription d = s.admin.describeTransactions(List.of(txnId)).all()
                    .get(30, TimeUnit.SECONDS).get(txnId);
            Scenarios.check(d.coordinatorId() == txnCoordinator && txnCoordinator != groupCoordinator,
                    "transactional id " + txnId + " coordinated by " + d.coordinatorId() + ", expected "
                    + txnCoordinator + " (the group's coordinator is " + groupCoordinator + "); listed: "
                    + s.admin.listTransactions().all().get(30, TimeUnit.SECONDS).stream()
                            .map(TransactionListing::transactionalId).toList());
            StreamsScenarios.produceRounds(p, in, rounds / 2, rounds * 3 / 4);
            Main.askDriver("KILL " + groupCoordinator);
            long killed = System.nanoTime();
            StreamsScenarios.produceRounds(p, in, rounds * 3 / 4, rounds);
            Map<String, Long> expected = StreamsScenarios.expectedCounts();
            Map<String, Long> latest = streams.readCounts(out, expected, never, 60, true);
            Scenarios.check(latest.equals(expected), "after the kill: counts " + latest + " != expected " + expected);
            double after = (System.nanoTime() - killed) / 1e9;
            checkCommittedOffsets(in);
            ks.close(Duration.ofSeconds(20));
            return Scenarios.Outcome.pass(String.format("%d words counted exactly under exactly_once_v2: group "
                    + "coordinator broker %d (__consumer_offsets-%d), transaction coordinator broker %d (%s); "
                    + "broker %d SIGKILLed mid-run, exact %.1f s later (%d stream threads replaced)",
                    expected.size(), groupCoordinator, groupPartition, txnCoordinator, txnId, groupCoordinator,
                    after, replaced.get()));
        }
    }
}
