package nocopy.compat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * txn_zombie_fenced: zombie fencing of transactional offset commits (KIP-447). Two
 * consume-transform-produce instances of one group, each with its own transactional id, commit
 * their input offsets with sendOffsetsToTransaction(offsets, consumer.groupMetadata()).
 * Instance A owns every input partition, commits two transactions, then opens a third (its
 * output records sent, its offsets and group metadata in hand) and stops polling. Instance B
 * joins; A misses max.poll.interval.ms and is dropped from the group, B takes every partition
 * over and processes A's unfinished records again. Then the zombie A sends its offsets with the
 * generation it held: the group coordinator must refuse them (UNKNOWN_MEMBER_ID or
 * ILLEGAL_GENERATION on the wire, CommitFailedException in the client) so that A can only
 * abort. A broker that accepted them would let A commit records B also wrote: the output,
 * read with read_committed, must hold every input record exactly once, and the group's stable
 * committed offsets must reach the end of the input. Bounded to 80 s.
 */
final class ZombieTxnScenario {
    private static final String IN = "java-zombie-in";
    private static final String OUT = "java-zombie-out";
    private static final String GROUP = "java-zombie";
    private static final int PARTITIONS = 4;
    private static final int RECORDS = 400;
    private static final int POLL_INTERVAL_MS = 6000;  // the broker's minimum session timeout
    private final Scenarios s;
    private final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(80);

    ZombieTxnScenario(Scenarios s) {
        this.s = s;
    }

    private void inTime(String what) {
        Scenarios.check(System.nanoTime() < deadline, "timed out: " + what);
    }

    private KafkaConsumer<String, String> consumer(String clientId) {
        Properties p = s.consumerProps(GROUP);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, POLL_INTERVAL_MS);
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, POLL_INTERVAL_MS);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 40);
        return new KafkaConsumer<>(p);
    }

    private KafkaProducer<String, String> producer(String txnId) {
        Properties p = s.producerProps();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        KafkaProducer<String, String> producer = new KafkaProducer<>(p);
        producer.initTransactions();
        return producer;
    }

    /** Each input record to the output partition of its input partition; returns the next offsets. */
    private static Map<TopicPartition, OffsetAndMetadata> forward(KafkaProducer<String, String> p,
                                                                  ConsumerRecords<String, String> rs) {
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
        for (ConsumerRecord<String, String> r : rs) {
            p.send(new ProducerRecord<>(OUT, r.partition(), r.key(), r.value()));
            next.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        return next;
    }

    /** One transaction over one poll's records, if it returned any; true when one was committed. */
    private static boolean processOnce(KafkaConsumer<String, String> c, KafkaProducer<String, String> p) {
        ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
        if (rs.isEmpty()) {
            return false;
        }
        p.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> next = forward(p, rs);
        p.sendOffsetsToTransaction(next, c.groupMetadata());
        p.commitTransaction();
        return true;
    }

    private static boolean caughtUp(KafkaConsumer<String, String> c) {
        Map<TopicPartition, Long> ends = c.endOffsets(c.assignment(), Duration.ofSeconds(30));
        for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
            if (c.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return c.assignment().size() == PARTITIONS;
    }

    Scenarios.Outcome run() throws Exception {
        s.createTopic(IN, PARTITIONS);
        s.createTopic(OUT, PARTITIONS);
        try (KafkaProducer<String, String> p = new KafkaProducer<>(s.producerProps())) {
            for (int i = 0; i < RECORDS; i++) {
                p.send(new ProducerRecord<>(IN, Scenarios.key(i), Scenarios.value(i)));
            }
            p.flush();
        }
        KafkaConsumer<String, String> a = consumer("zombie-a");
        KafkaProducer<String, String> pa = producer("java-zombie-a");
        a.subscribe(List.of(IN));
        for (int committed = 0; committed < 2; ) {
            inTime("instance A's first transactions");
            committed += processOnce(a, pa) ? 1 : 0;
        }
        ConsumerRecords<String, String> held = a.poll(Duration.ofMillis(200));
        while (held.isEmpty()) {
            inTime("instance A's third poll");
            held = a.poll(Duration.ofMillis(200));
        }
        pa.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> zombieOffsets = forward(pa, held);
        pa.flush();
        ConsumerGroupMetadata zombieGroup = a.groupMetadata();
        Scenarios.check(zombieGroup.generationId() > 0, "instance A holds no generation: " + zombieGroup);
        // A stops polling here. B joins and takes every partition once A is dropped.
        KafkaConsumer<String, String> b = consumer("zombie-b");
        KafkaProducer<String, String> pb = producer("java-zombie-b");
        b.subscribe(List.of(IN));
        int bTransactions = 0;
        while (b.assignment().size() < PARTITIONS || bTransactions == 0) {
            inTime("instance B taking the partitions over (assigned " + b.assignment() + ")");
            bTransactions += processOnce(b, pb) ? 1 : 0;
        }
        int generationB = b.groupMetadata().generationId();
        // The zombie wakes up and commits with the generation it held.
        String fenced = null;
        try {
            pa.sendOffsetsToTransaction(zombieOffsets, zombieGroup);
            pa.commitTransaction();
        } catch (KafkaException e) {
            Throwable t = e;
            while (t != null && !(t instanceof CommitFailedException)) {
                t = t.getCause();
            }
            if (t == null) {
                throw e;
            }
            fenced = t.getMessage();
            pa.abortTransaction();
        }
        Scenarios.check(fenced != null, "the zombie's offsets of generation " + zombieGroup.generationId()
                + " were accepted and its transaction committed after generation " + generationB + " took over");
        pa.close(Duration.ofSeconds(10));
        a.close(Duration.ofSeconds(10));
        while (!caughtUp(b)) {
            inTime("instance B reaching the end of the input");
            bTransactions += processOnce(b, pb) ? 1 : 0;
        }
        b.close(Duration.ofSeconds(10));
        pb.close(Duration.ofSeconds(10));
        s.verifyLog(OUT, RECORDS, true);
        Map<TopicPartition, OffsetAndMetadata> committed = s.admin
                .listConsumerGroupOffsets(GROUP, new ListConsumerGroupOffsetsOptions().requireStable(true))
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        long sum = 0;
        for (OffsetAndMetadata m : committed.values()) {
            sum += m.offset();
        }
        Scenarios.check(sum == RECORDS, "the group's committed offsets sum to " + sum + ", not " + RECORDS);
        return Scenarios.Outcome.pass("zombie of generation " + zombieGroup.generationId() + " fenced after generation "
                + generationB + " took over (" + fenced + "); B committed " + bTransactions
                + " transactions; " + RECORDS + " records read_committed exactly once");
    }
}
