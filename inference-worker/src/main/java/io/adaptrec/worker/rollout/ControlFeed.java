package io.adaptrec.worker.rollout;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.Rollout;
import io.adaptrec.schemas.RegistryBackoff;
import io.adaptrec.schemas.RegistryUnavailableException;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the control topics every role needs ({@code adapters}, {@code rollouts} and, for the
 * controller, {@code experiment-metrics}): one thread, every partition assigned, from the
 * beginning, {@code read_committed}. Each record is folded into {@link Experiments} and handed to
 * the {@link Listener} on this thread, so a listener sees the control state change one record at a
 * time and in topic order (each control topic has one partition).
 */
public final class ControlFeed implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlFeed.class);

    /** Called on the feed's thread. */
    public interface Listener {
        /** A manifest arrived ({@code raw}: the record's value bytes, e.g. for a dead-letter record). */
        default void adapter(AdapterManifest m, ConsumerRecord<byte[], byte[]> raw) {}

        default void rollout(String experimentId, Rollout r) {}

        default void metrics(ArmMetrics m) {}

        /** After every polled batch (also empty ones): the state is as of this point; {@code caughtUp} once at the end offsets taken at start. */
        default void batchDone(boolean caughtUp) {}
    }

    private final Topics topics;
    private final Experiments experiments;
    private final Listener listener;
    private final boolean withMetrics;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread thread;
    private final RegistryBackoff registryBackoff = RegistryBackoff.standard("control feed");
    private final AtomicBoolean running = new AtomicBoolean(true);
    private volatile boolean caughtUp;
    private volatile Throwable failure;
    private volatile long undecodable;

    public ControlFeed(Topics topics, Properties client, Experiments experiments, boolean withMetrics, Listener listener) {
        this.topics = topics;
        this.experiments = experiments;
        this.listener = listener;
        this.withMetrics = withMetrics;
        Properties p = TopicScan.readerProperties(client);
        p.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "50");
        this.consumer = new KafkaConsumer<>(p);
        this.thread = new Thread(this::run, "control-feed");
        thread.setDaemon(true);
    }

    public ControlFeed start() {
        thread.start();
        return this;
    }

    private void run() {
        try {
            List<String> names = new ArrayList<>(List.of(topics.adapters().name(), topics.rollouts().name()));
            if (withMetrics) {
                names.add(topics.experimentMetrics().name());
            }
            Map<TopicPartition, Long> end = TopicScan.assignAllFromStart(consumer, names, Duration.ofSeconds(30));
            while (running.get()) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(100));
                if (!registryBackoff.applyAll(consumer, batch, this::apply)) {
                    continue;   // the registry could not be asked: rewound, waited, read again
                }
                if (!caughtUp) {
                    boolean done = true;
                    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                        done &= consumer.position(e.getKey()) >= e.getValue();
                    }
                    caughtUp = done;
                }
                listener.batchDone(caughtUp);
            }
        } catch (WakeupException e) {
            if (running.get()) {
                failure = e;
            }
        } catch (Throwable e) {
            failure = e;
            log.error("control feed stopped", e);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void apply(ConsumerRecord<byte[], byte[]> r) {
        String t = r.topic();
        try {
            if (t.equals(topics.adapters().name())) {
                if (r.value() != null) {
                    AdapterManifest m = topics.adapters().valueSerde().deserializer().deserialize(t, r.value());
                    synchronized (experiments) {
                        experiments.apply(m);
                    }
                    listener.adapter(m, r);
                }
            } else if (t.equals(topics.rollouts().name())) {
                String id = topics.rollouts().keySerde().deserializer().deserialize(t, r.key());
                Rollout ro = r.value() == null ? null : topics.rollouts().valueSerde().deserializer().deserialize(t, r.value());
                synchronized (experiments) {
                    experiments.apply(id, ro);
                }
                listener.rollout(id, ro);
            } else if (r.value() != null) {
                listener.metrics(topics.experimentMetrics().valueSerde().deserializer().deserialize(t, r.value()));
            }
        } catch (RuntimeException e) {
            if (RegistryUnavailableException.in(e)) {
                throw e;   // not a bad record: read again once the registry answers
            }
            undecodable++;
            log.warn("control feed: skipping record {}-{}@{}: {}", t, r.partition(), r.offset(), e.toString());
        }
    }

    /** True once every record present at start was applied. */
    public boolean caughtUp() {
        return caughtUp && failure == null;
    }

    public Throwable failure() {
        return failure;
    }

    public long undecodable() {
        return undecodable;
    }

    /** Blocks until caught up or the timeout; true when caught up. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return io.adaptrec.worker.serving.Await.until(this::caughtUp, () -> failure, timeout, "control feed");
    }

    @Override
    public void close() {
        running.set(false);
        consumer.wakeup();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
