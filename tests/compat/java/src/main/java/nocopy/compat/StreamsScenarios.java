package nocopy.compat;

import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.common.utils.Bytes;

/** A Kafka Streams word count (repartition + state store with changelog) in both guarantees. */
final class StreamsScenarios {
    private final Scenarios s;

    StreamsScenarios(Scenarios s) {
        this.s = s;
    }

    static final String[] LINES = {
        "the quick brown fox", "jumps over the lazy dog", "the dog barks",
        "a fox is quick", "lazy afternoons for the lazy dog",
    };
    static final int ROUNDS = 40;

    static Map<String, Long> expectedCounts() {
        return expectedCounts(ROUNDS);
    }

    /** The counts after the first `rounds` rounds of LINES. */
    static Map<String, Long> expectedCounts(int rounds) {
        Map<String, Long> m = new HashMap<>();
        for (int r = 0; r < rounds; r++) {
            for (String line : LINES) {
                for (String w : line.split(" ")) {
                    m.merge(w, 1L, Long::sum);
                }
            }
        }
        return m;
    }

    /**
     * The word count topology. With deleteChangelog the store's changelog topic is created with
     * cleanup.policy=delete instead of Streams' default compact.
     */
    private KafkaStreams build(String app, String in, String out, String guarantee, boolean deleteChangelog)
            throws Exception {
        return build(app, in, out, guarantee, deleteChangelog, new Properties());
    }

    /** The word count with `extra` Streams properties on top of the defaults below. */
    KafkaStreams build(String app, String in, String out, String guarantee, boolean deleteChangelog,
                       Properties extra) throws Exception {
        StreamsBuilder b = new StreamsBuilder();
        Materialized<String, Long, KeyValueStore<Bytes, byte[]>> store = Materialized.as("counts");
        if (deleteChangelog) {
            store = store.withLoggingEnabled(Map.of("cleanup.policy", "delete"));
        }
        b.<String, String>stream(in)
                .flatMapValues(v -> Arrays.asList(v.split(" ")))
                .groupBy((k, w) -> w)
                .count(store)
                .toStream()
                .to(out, Produced.with(Serdes.String(), Serdes.Long()));
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrap);
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.String().getClass().getName());
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.String().getClass().getName());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("nocopy-streams-").toString());
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_BLOCK_MS_CONFIG), 20000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        p.putAll(extra);
        return new KafkaStreams(b.build(), p);
    }

    private void produceLines(String in) throws Exception {
        try (KafkaProducer<String, String> p = new KafkaProducer<>(s.producerProps())) {
            produceRounds(p, in, 0, ROUNDS);
        }
    }

    /** Rounds [from, to) of LINES, flushed (every record acknowledged). */
    static void produceRounds(KafkaProducer<String, String> p, String in, int from, int to) {
        int i = from * LINES.length;
        for (int r = from; r < to; r++) {
            for (String line : LINES) {
                p.send(new ProducerRecord<>(in, "line-" + (i++), line));
            }
        }
        p.flush();
    }

    /** What a scenario checks once the output holds the expected counts, before Streams closes. */
    private interface Check {
        void run() throws Exception;
    }

    /**
     * Runs the word count `app` (topics app-in and app-out of `partitions` partitions each) over all
     * rounds of LINES until the output, read with read_committed when asked, holds the expected
     * counts; then `more`. A stream thread that dies fails the run. Returns the expected counts.
     */
    private Map<String, Long> countWords(String app, int partitions, String guarantee, boolean deleteChangelog,
                                         boolean readCommitted, Check more) throws Exception {
        String in = app + "-in";
        String out = app + "-out";
        s.createTopic(in, partitions);
        s.createTopic(out, partitions);
        produceLines(in);
        Map<String, Long> expected = expectedCounts();
        AtomicReference<Throwable> died = new AtomicReference<>();
        try (KafkaStreams ks = build(app, in, out, guarantee, deleteChangelog)) {
            ks.setUncaughtExceptionHandler(e -> {
                died.set(e);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });
            ks.start();
            Map<String, Long> latest = readCounts(out, expected, died, 120, readCommitted);
            Scenarios.check(latest.equals(expected), "counts " + latest + " != expected " + expected);
            more.run();
            ks.close(Duration.ofSeconds(30));
        }
        return expected;
    }

    Scenarios.Outcome wordCountAtLeastOnce() throws Exception {
        String app = "java-wc-alos";
        Map<String, Long> expected = countWords(app, 3, StreamsConfig.AT_LEAST_ONCE, true, false, () -> {
            Set<String> topics = s.admin.listTopics().names().get(60, TimeUnit.SECONDS);
            Scenarios.check(topics.contains(app + "-counts-repartition"), "no repartition topic: " + topics);
            Scenarios.check(topics.contains(app + "-counts-changelog"), "no changelog topic: " + topics);
        });
        return Scenarios.Outcome.pass(expected.size() + " words counted exactly through the "
                + "repartition topic and a store changelogged with cleanup.policy=delete");
    }

    /**
     * The same word count with Streams' default compacted changelog (cleanup.policy=compact,
     * which the broker creates and cleans): exact counts, and the changelog topic is compacted.
     */
    Scenarios.Outcome wordCountCompactedChangelog() throws Exception {
        String app = "java-wc-compact";
        Map<String, Long> expected = countWords(app, 1, StreamsConfig.AT_LEAST_ONCE, false, false, () -> {
            String changelog = app + "-counts-changelog";
            var res = new org.apache.kafka.common.config.ConfigResource(
                    org.apache.kafka.common.config.ConfigResource.Type.TOPIC, changelog);
            String policy = s.admin.describeConfigs(List.of(res)).all().get(60, TimeUnit.SECONDS)
                    .get(res).get("cleanup.policy").value();
            Scenarios.check(policy.contains("compact"), changelog + " has cleanup.policy=" + policy);
        });
        return Scenarios.Outcome.pass(expected.size() + " words counted exactly with a compacted changelog");
    }

    /**
     * The newest count per word on the output topic (read_committed when asked), until it equals
     * `expected` or time runs out.
     */
    Map<String, Long> readCounts(String out, Map<String, Long> expected, AtomicReference<Throwable> died,
                                 int seconds, boolean readCommitted) {
        Properties cp = s.consumerProps(null);
        if (readCommitted) {
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        }
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
        Map<String, Long> latest = new HashMap<>();
        try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(cp)) {
            List<org.apache.kafka.common.TopicPartition> tps = new java.util.ArrayList<>();
            c.partitionsFor(out, Duration.ofSeconds(30))
                    .forEach(pi -> tps.add(new org.apache.kafka.common.TopicPartition(out, pi.partition())));
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (!latest.equals(expected) && System.nanoTime() < deadline) {
                if (died.get() != null) {
                    throw new AssertionError("streams failed: " + Scenarios.describe(died.get()), died.get());
                }
                for (ConsumerRecord<String, Long> r : c.poll(Duration.ofMillis(500))) {
                    latest.put(r.key(), r.value());
                }
            }
        }
        return latest;
    }

    /**
     * The word count under exactly_once_v2 (transactional producer, offsets committed in the
     * transaction, read_committed consumers): the output topic, read with read_committed, holds
     * exactly the expected counts.
     */
    Scenarios.Outcome exactlyOnce() throws Exception {
        Map<String, Long> expected = countWords("java-wc-eos", 3, StreamsConfig.EXACTLY_ONCE_V2, true, true, () -> { });
        return Scenarios.Outcome.pass(expected.size() + " words counted exactly under exactly_once_v2, "
                + "read back with read_committed");
    }

    /**
     * exactly_once_v2 with a second instance joining mid-run: the first instance counts the first
     * half of the lines (read back committed), then a second instance of the application starts
     * while the rest is produced, so the group rebalances while the first instance's transactions
     * are open and its offsets are committed (TxnOffsetCommit with its generation) during the
     * rebalance. Read with read_committed, the output must hold exactly the expected counts, with
     * tasks on both instances at the end and no stream thread dead.
     */
    Scenarios.Outcome exactlyOnceRebalance() throws Exception {
        String app = "java-wc-eos-rebalance";
        String in = app + "-in";
        String out = app + "-out";
        s.createTopic(in, 4);
        s.createTopic(out, 4);
        int half = ROUNDS / 2;
        AtomicReference<Throwable> died = new AtomicReference<>();
        StreamsUncaughtExceptionHandler fail = e -> {
            died.set(e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        };
        try (KafkaProducer<String, String> p = new KafkaProducer<>(s.producerProps());
             KafkaStreams first = build(app, in, out, StreamsConfig.EXACTLY_ONCE_V2, true);
             KafkaStreams second = build(app, in, out, StreamsConfig.EXACTLY_ONCE_V2, true)) {
            first.setUncaughtExceptionHandler(fail);
            second.setUncaughtExceptionHandler(fail);
            produceRounds(p, in, 0, half);
            first.start();
            Map<String, Long> before = readCounts(out, expectedCounts(half), died, 60, true);
            Scenarios.check(before.equals(expectedCounts(half)),
                    "before the second instance: counts " + before + " != expected " + expectedCounts(half));
            second.start();
            for (int r = half; r < ROUNDS; r += 5) {
                produceRounds(p, in, r, Math.min(r + 5, ROUNDS));
                Thread.sleep(300);
            }
            // The join can complete after the first instance has counted everything: wait for it
            // (bounded) before the counts are read, so that both instances own tasks at the end.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while ((activeTasks(first) == 0 || activeTasks(second) == 0) && System.nanoTime() < deadline
                    && died.get() == null) {
                Thread.sleep(200);
            }
            Map<String, Long> expected = expectedCounts();
            Map<String, Long> latest = readCounts(out, expected, died, 60, true);
            Scenarios.check(latest.equals(expected), "after the rebalance: counts " + latest + " != expected " + expected);
            int firstTasks = activeTasks(first);
            int secondTasks = activeTasks(second);
            Scenarios.check(firstTasks > 0 && secondTasks > 0,
                    "active tasks after the rebalance: " + firstTasks + " and " + secondTasks);
            second.close(Duration.ofSeconds(30));
            first.close(Duration.ofSeconds(30));
            return Scenarios.Outcome.pass(expected.size() + " words counted exactly under exactly_once_v2 while a "
                    + "second instance joined mid-run (active tasks " + firstTasks + " + " + secondTasks + ")");
        }
    }

    private static int activeTasks(KafkaStreams ks) {
        return ks.metadataForLocalThreads().stream().mapToInt(t -> t.activeTasks().size()).sum();
    }

    /**
     * exactly_once_v2 across a SIGKILL of the broker: the first half of the lines is counted and
     * read back committed; then, while Streams runs, a quarter more is produced, the broker is
     * killed and started again (a transaction of Streams may be open at that moment and is lost
     * with the process), and the last quarter is produced. Read with read_committed, the output
     * must hold exactly the expected counts: a record counted twice or lost shows as a wrong count.
     * Stream threads that die on the broker's loss are replaced (REPLACE_THREAD), as an
     * application would configure them.
     */
    Scenarios.Outcome exactlyOnceAcrossRestart() throws Exception {
        String app = "java-wc-eos-restart";
        String in = app + "-in";
        String out = app + "-out";
        s.createTopic(in, 3);
        s.createTopic(out, 3);
        int half = ROUNDS / 2;
        int threeQuarters = ROUNDS * 3 / 4;
        AtomicReference<Throwable> never = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicInteger replaced = new java.util.concurrent.atomic.AtomicInteger();
        try (KafkaProducer<String, String> p = new KafkaProducer<>(s.producerProps());
             KafkaStreams ks = build(app, in, out, StreamsConfig.EXACTLY_ONCE_V2, true)) {
            produceRounds(p, in, 0, half);
            ks.setUncaughtExceptionHandler(e -> {
                replaced.incrementAndGet();
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            });
            ks.start();
            Map<String, Long> first = readCounts(out, expectedCounts(half), never, 120, true);
            Scenarios.check(first.equals(expectedCounts(half)),
                    "before the restart: counts " + first + " != expected " + expectedCounts(half));
            produceRounds(p, in, half, threeQuarters);
            Main.restartBroker("SIGKILL");
            produceRounds(p, in, threeQuarters, ROUNDS);
            Map<String, Long> expected = expectedCounts();
            Map<String, Long> latest = readCounts(out, expected, never, 180, true);
            Scenarios.check(latest.equals(expected), "after the restart: counts " + latest + " != expected " + expected);
            ks.close(Duration.ofSeconds(30));
        }
        return Scenarios.Outcome.pass(expectedCounts().size() + " words counted exactly under exactly_once_v2 "
                + "across a SIGKILL of the broker (" + replaced.get() + " stream threads replaced)");
    }
}
