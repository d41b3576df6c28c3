package nocopy.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client over TLS and SASL_SSL against a broker with SSL and SASL_SSL listeners
 * (run.py starts it with a CA and certificate made by openssl at run time).
 *
 * Usage: SecurityMain SSL_BOOTSTRAP SASL_SSL_BOOTSTRAP CA_PEM USER PASSWORD [scenario...].
 * The truststore is the CA's PEM file (ssl.truststore.type=PEM) and the broker's certificate is
 * checked against the address (ssl.endpoint.identification.algorithm=https, the default). Each
 * scenario prints "SCENARIO name pass|fail reason" like Main.
 *
 *  - ssl_produce_consume_group, sasl_ssl_scram_sha_256_group, sasl_ssl_scram_sha_512_group:
 *    create a 3-partition topic, produce RECORDS keyed records (idempotent, acks=all), read
 *    every one exactly once as a group member, commit, and find the committed offsets summing to
 *    RECORDS through the admin client, all over that listener and mechanism;
 *  - sasl_ssl_wrong_password: SCRAM-SHA-256 and -512 with a wrong password: the admin client's
 *    call and the consumer's poll fail with SaslAuthenticationException;
 *  - sasl_ssl_reauthentication (KIP-368; run.py gives the broker a short
 *    connections.max.reauth.ms): a producer and a group consumer with SCRAM-SHA-512 work for
 *    REAUTH_SECONDS, every record delivered and read once, and both clients count successful
 *    re-authentications (their successful-reauthentication-total metric) and no failed one.
 */
public final class SecurityMain {
    static final List<String> ALL = List.of("ssl_produce_consume_group", "sasl_ssl_scram_sha_256_group",
            "sasl_ssl_scram_sha_512_group", "sasl_ssl_wrong_password", "sasl_ssl_reauthentication");
    static final int RECORDS = 500;
    static final int REAUTH_SECONDS = 12;

    final String sslBootstrap;
    final String saslBootstrap;
    final String caPem;
    final String user;
    final String password;

    SecurityMain(String[] args) {
        sslBootstrap = args[0];
        saslBootstrap = args[1];
        caPem = args[2];
        user = args[3];
        password = args[4];
    }

    /** Client properties for a listener: SSL when mechanism is null, else SASL_SSL with SCRAM. */
    Properties base(String mechanism, String pw) {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, mechanism == null ? sslBootstrap : saslBootstrap);
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, mechanism == null ? "SSL" : "SASL_SSL");
        p.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
        p.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, caPem);
        if (mechanism != null) {
            p.put(SaslConfigs.SASL_MECHANISM, mechanism);
            p.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required "
                    + "username=\"" + user + "\" password=\"" + pw + "\";");
        }
        return p;
    }

    Properties producer(String mechanism) {
        Properties p = base(mechanism, password);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return p;
    }

    Properties consumer(String mechanism, String pw, String group) {
        Properties p = base(mechanism, pw);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put("group.protocol", "classic");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return p;
    }

    Scenarios.Outcome produceConsumeGroup(String name, String mechanism) throws Exception {
        String topic = "sec-" + name;
        String group = "sec-group-" + name;
        Properties ap = base(mechanism, password);
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60000);
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(60, TimeUnit.SECONDS);
            try (KafkaProducer<String, String> p = new KafkaProducer<>(producer(mechanism))) {
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                for (int i = 0; i < RECORDS; i++) {
                    acks.add(p.send(new ProducerRecord<>(topic, "k" + (i % 17), "v" + i)));
                }
                for (Future<RecordMetadata> f : acks) {
                    f.get(60, TimeUnit.SECONDS);
                }
            }
            Set<String> seen = new HashSet<>();
            int dup = 0;
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumer(mechanism, password, group))) {
                c.subscribe(List.of(topic));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (seen.size() < RECORDS) {
                    Scenarios.check(System.nanoTime() < deadline, "read " + seen.size() + " of " + RECORDS);
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                        if (!seen.add(r.value())) {
                            dup++;
                        }
                    }
                }
                c.commitSync(Duration.ofSeconds(30));
            }
            for (int i = 0; i < RECORDS; i++) {
                Scenarios.check(seen.contains("v" + i), "record v" + i + " not read");
            }
            Scenarios.check(dup == 0, dup + " records read twice");
            Map<TopicPartition, OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(60, TimeUnit.SECONDS);
            long sum = 0;
            for (OffsetAndMetadata o : committed.values()) {
                sum += o.offset();
            }
            Scenarios.check(committed.size() == 3 && sum == RECORDS,
                    "committed offsets " + committed + " do not cover " + RECORDS + " records");
        }
        return Scenarios.Outcome.pass(RECORDS + " records produced, read once by group " + group
                + " and committed over " + (mechanism == null ? "SSL" : "SASL_SSL " + mechanism));
    }

    static boolean isSaslFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SaslAuthenticationException) {
                return true;
            }
        }
        return false;
    }

    Scenarios.Outcome wrongPassword() throws Exception {
        for (String mechanism : List.of("SCRAM-SHA-256", "SCRAM-SHA-512")) {
            Properties ap = base(mechanism, password + "-wrong");
            ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
            try (Admin admin = Admin.create(ap)) {
                admin.listTopics().names().get(40, TimeUnit.SECONDS);
                throw new AssertionError(mechanism + ": the admin client listed topics with a wrong password");
            } catch (ExecutionException e) {
                Scenarios.check(isSaslFailure(e), mechanism + " admin: " + Scenarios.describe(e));
            }
            try (KafkaConsumer<String, String> c =
                         new KafkaConsumer<>(consumer(mechanism, password + "-wrong", "sec-wrong"))) {
                c.subscribe(List.of("sec-ssl_produce_consume_group"));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
                boolean failed = false;
                while (!failed && System.nanoTime() < deadline) {
                    try {
                        Scenarios.check(c.poll(Duration.ofMillis(500)).isEmpty(),
                                mechanism + ": records read with a wrong password");
                    } catch (SaslAuthenticationException e) {
                        failed = true;
                    }
                }
                Scenarios.check(failed, mechanism + ": the consumer's poll never failed authentication");
            }
        }
        return Scenarios.Outcome.pass("SCRAM-SHA-256 and -512: admin and consumer get SaslAuthenticationException");
    }

    static double metric(Map<MetricName, ? extends Metric> metrics, String name) {
        double sum = 0;
        for (Map.Entry<MetricName, ? extends Metric> e : metrics.entrySet()) {
            if (e.getKey().name().equals(name) && e.getValue().metricValue() instanceof Number) {
                sum += ((Number) e.getValue().metricValue()).doubleValue();
            }
        }
        return sum;
    }

    Scenarios.Outcome reauthentication() throws Exception {
        String topic = "sec-reauth";
        String mechanism = "SCRAM-SHA-512";
        Properties ap = base(mechanism, password);
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60000);
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
        Set<String> seen = new HashSet<>();
        int sent = 0;
        int dup = 0;
        double producerReauths;
        double consumerReauths;
        double failed;
        try (KafkaProducer<String, String> p = new KafkaProducer<>(producer(mechanism));
             KafkaConsumer<String, String> c = new KafkaConsumer<>(consumer(mechanism, password, "sec-reauth-group"))) {
            c.subscribe(List.of(topic));
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(REAUTH_SECONDS);
            while (System.nanoTime() < end) {
                acks.add(p.send(new ProducerRecord<>(topic, "k" + (sent % 7), "r" + sent)));
                sent++;
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(50))) {
                    if (!seen.add(r.value())) {
                        dup++;
                    }
                }
            }
            for (Future<RecordMetadata> f : acks) {
                f.get(60, TimeUnit.SECONDS);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (seen.size() < sent && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    if (!seen.add(r.value())) {
                        dup++;
                    }
                }
            }
            producerReauths = metric(p.metrics(), "successful-reauthentication-total");
            consumerReauths = metric(c.metrics(), "successful-reauthentication-total");
            failed = metric(p.metrics(), "failed-reauthentication-total") + metric(c.metrics(), "failed-reauthentication-total");
        }
        Scenarios.check(seen.size() == sent && dup == 0,
                "read " + seen.size() + " of " + sent + " records (" + dup + " twice) across re-authentications");
        Scenarios.check(producerReauths >= 2 && consumerReauths >= 2 && failed == 0,
                "re-authentications: producer " + producerReauths + ", consumer " + consumerReauths + ", failed " + failed);
        return Scenarios.Outcome.pass(sent + " records produced and read by a group in " + REAUTH_SECONDS
                + " s; re-authentications: producer " + (long) producerReauths + ", consumer " + (long) consumerReauths);
    }

    Scenarios.Outcome run(String name) throws Exception {
        switch (name) {
            case "ssl_produce_consume_group": return produceConsumeGroup(name, null);
            case "sasl_ssl_scram_sha_256_group": return produceConsumeGroup(name, "SCRAM-SHA-256");
            case "sasl_ssl_scram_sha_512_group": return produceConsumeGroup(name, "SCRAM-SHA-512");
            case "sasl_ssl_wrong_password": return wrongPassword();
            case "sasl_ssl_reauthentication": return reauthentication();
            default: throw new IllegalArgumentException("unknown scenario " + name);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: SecurityMain SSL_BOOTSTRAP SASL_SSL_BOOTSTRAP CA_PEM USER PASSWORD [scenario...]");
            System.exit(2);
        }
        SecurityMain s = new SecurityMain(args);
        boolean failed = Main.runAll(args, 5, ALL, s::run);
        System.exit(failed ? 1 : 0);
    }
}
