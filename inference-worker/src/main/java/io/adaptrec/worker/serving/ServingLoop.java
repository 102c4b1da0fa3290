package io.adaptrec.worker.serving;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.schemas.RegistryBackoff;
import io.adaptrec.schemas.RegistryUnavailableException;
import io.adaptrec.schemas.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consume-transform-produce loop of the worker: {@code rec-requests} in a consumer group,
 * one Kafka transaction per poll holding the batch's responses, its dead letters and the group's
 * offsets, so every request is answered exactly once for {@code read_committed} readers, also
 * across crashes and rebalances (a crashed worker's open transaction is aborted when the same
 * {@code serving.instance.id} starts again, or after {@code transaction.timeout.ms}).
 *
 * <p>{@code serving.delivery=exactly-once} (the default) uses transactions;
 * {@code at-least-once} commits offsets after the batch's responses are acknowledged, so a crash
 * may answer a request twice and every reader must keep the first response per request id
 * ({@link io.adaptrec.client.RecClient} does). Why transactions by default: every consumer of
 * {@code rec-responses} (the client, the outcome join, the evaluation) would otherwise need its
 * own de-duplication, the outcome join a store for it. Their latency cost comes mostly from the
 * producer's retry back-off after a commit (the next transaction's first send is refused until
 * the markers are written), so the loop's producer backs off for 1-2 ms instead of 100 ms; both
 * modes are measured side by side in BENCHMARKS.md.
 */
public final class ServingLoop implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ServingLoop.class);
    static final String SOURCE = "inference-worker/ServingLoop";

    private final Topics topics;
    private final RequestHandler handler;
    private final WorkerMetrics metrics;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<byte[], byte[]> producer;
    private final Duration pollTimeout;
    private final Thread thread;
    private final RegistryBackoff registryBackoff = RegistryBackoff.standard("serving");
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicBoolean started = new AtomicBoolean(false);
    private final AtomicLong lag = new AtomicLong();
    private final AtomicLong answered = new AtomicLong();
    private volatile Throwable failure;
    private boolean inTransaction;   // loop thread only
    private final boolean exactlyOnce;

    /**
     * @param memberId this loop's stable name: its {@code transactional.id} and static
     *                 {@code group.instance.id} (a worker with several loops gives each its own)
     */
    public ServingLoop(Topics topics, RequestHandler handler, ServingConfig cfg, WorkerMetrics metrics, String memberId) {
        this.topics = topics;
        this.handler = handler;
        this.metrics = metrics;
        this.pollTimeout = Duration.ofMillis(cfg.pollMs());
        Properties c = cfg.clientProperties();
        c.put(ConsumerConfig.GROUP_ID_CONFIG, cfg.groupId());
        // Static membership under the instance's own name: a worker restarted after a crash takes
        // its partitions back at once instead of waiting for the dead member's session to expire
        // (45 s by default; measured in ServingFailoverIT). A clean stop leaves the group explicitly.
        c.putIfAbsent(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, memberId);
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(cfg.maxBatch()));
        c.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "5");
        this.consumer = new KafkaConsumer<>(c);
        Properties p = cfg.clientProperties();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        this.exactlyOnce = cfg.exactlyOnce();
        if (exactlyOnce) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, memberId);
        } else {
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            p.put(ProducerConfig.ACKS_CONFIG, "all");
        }
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "0");
        // The commit returns before the transaction markers are written; the next transaction's
        // first request is refused until they are, and retried after this back-off (default 100 ms).
        p.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "1");
        p.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "2");
        p.putIfAbsent(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "10000");
        this.producer = new KafkaProducer<>(p);
        this.thread = new Thread(this::run, "serving-loop-" + memberId);
    }

    public ServingLoop start() {
        thread.start();
        return this;
    }

    private void run() {
        try {
            if (exactlyOnce) {
                producer.initTransactions();
            }
            consumer.subscribe(List.of(topics.recRequests().name()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> parts) {
                    log.info("serving: partitions revoked {}", parts);
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> parts) {
                    log.info("serving: partitions assigned {}", parts);
                    started.set(true);   // joined the group (possibly with no partition, when workers outnumber them)
                }
            });
            while (running.get()) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout);
                updateLag();
                if (records.isEmpty()) {
                    continue;
                }
                long read = System.nanoTime();
                try {
                    process(records, read);
                    registryBackoff.succeeded();
                } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException e) {
                    throw e;   // fatal: another instance took our transactional.id, or we may not write
                } catch (KafkaException e) {
                    // e.g. a rebalance took a partition while the transaction was open, or the registry
                    // could not be asked for a schema: abort, and re-read from the committed offsets so
                    // nothing is lost, dead-lettered by mistake or answered twice.
                    boolean registry = RegistryUnavailableException.in(e);
                    if (!registry) {
                        log.warn("serving: transaction aborted, re-reading from committed offsets: {}", e.toString());
                    }
                    if (inTransaction) {
                        producer.abortTransaction();
                        inTransaction = false;
                    }
                    rewind(records.partitions());
                    if (registry) {
                        metrics.error("registry_unavailable");
                        registryBackoff.await(e);
                    }
                }
            }
        } catch (WakeupException e) {
            if (running.get()) {
                failure = e;
            }
        } catch (Throwable e) {
            // Errors too (out of memory, a class that vanished with a swapped jar): a loop that no
            // longer runs must make the worker report itself not live, never hang on as healthy.
            failure = e;
            log.error("serving loop stopped", e);
        } finally {
            if (running.get() && failure == null) {
                failure = new IllegalStateException("serving loop ended unexpectedly");
            }
            consumer.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofSeconds(2)));
            producer.close(Duration.ofSeconds(2));
        }
    }

    private void process(ConsumerRecords<byte[], byte[]> records, long readNanos) {
        List<RecommendationRequest> requests = new ArrayList<>(records.count());
        List<ConsumerRecord<byte[], byte[]>> sources = new ArrayList<>(records.count());
        List<ProducerRecord<byte[], byte[]>> extra = new ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
            try {
                RecommendationRequest req = topics.recRequests().valueSerde().deserializer().deserialize(r.topic(), r.value());
                if (req == null) {
                    throw new IllegalArgumentException("empty value (tombstone) on " + r.topic());
                }
                requests.add(req);
                sources.add(r);
            } catch (RuntimeException e) {
                if (RegistryUnavailableException.in(e)) {
                    throw e;   // the request may be fine: the whole batch is read again once the registry answers
                }
                extra.addAll(undecodable(r, e));
            }
        }
        metrics.batch(requests.size());
        List<RecommendationResponse> responses = handler.handle(requests, readNanos, System.currentTimeMillis());
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>(responses.size() + extra.size());
        for (RecommendationResponse resp : responses) {
            out.add(response(resp));   // serialised before the transaction: a registry failure aborts nothing
        }
        out.addAll(extra);
        if (!exactlyOnce) {
            // at-least-once: offsets are committed only after every response of the batch is
            // acknowledged; a crash in between answers those requests again, and readers keep the
            // first response per request id (RecClient does).
            for (ProducerRecord<byte[], byte[]> x : out) {
                producer.send(x);
            }
            producer.flush();
            consumer.commitAsync(offsets, null);
            answered.addAndGet(responses.size());
            return;
        }
        producer.beginTransaction();
        inTransaction = true;
        for (ProducerRecord<byte[], byte[]> x : out) {
            producer.send(x);
        }
        producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        producer.commitTransaction();
        inTransaction = false;
        answered.addAndGet(responses.size());
    }

    /**
     * A request that cannot be decoded goes to {@code dead-letter}; when the request id can still
     * be read (the first field of every version of the schema), the caller also gets an ERROR
     * response, so it does not wait for its timeout.
     */
    private List<ProducerRecord<byte[], byte[]>> undecodable(ConsumerRecord<byte[], byte[]> r, RuntimeException e) {
        metrics.error("undecodable");
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        String reason = "undecodable request: " + e.getMessage();
        DeadLetter dl = DeadLetter.newBuilder().setTopic(r.topic()).setPartition(r.partition()).setOffset(r.offset())
                .setError(reason).setSource(SOURCE)
                .setRawKey(r.key() == null ? null : ByteBuffer.wrap(r.key()))
                .setRawBytes(r.value() == null ? null : ByteBuffer.wrap(r.value()))
                .setFailedAt(Instant.now()).build();
        String dlt = topics.deadLetter().name();
        out.add(new ProducerRecord<>(dlt, topics.deadLetter().keySerde().serializer().serialize(dlt, r.topic()),
                topics.deadLetter().valueSerde().serializer().serialize(dlt, dl)));
        String requestId = readRequestId(r.value());
        Long user = readUser(r);
        if (requestId != null && user != null) {
            RecommendationResponse resp = RequestHandler.failure(requestId, user, ResponseStatus.ERROR, reason)
                    .setLatencyMicros(0).setRespondedAt(Instant.now()).build();
            metrics.request(resp.getStatus().name(), "none", 0);
            out.add(response(resp));
        }
        log.warn("serving: {}-{}@{} to dead-letter ({}){}", r.topic(), r.partition(), r.offset(), reason,
                requestId == null ? "" : ", error response to request " + requestId);
        return out;
    }

    /** The leading Avro string after the 5-byte wire header, when it is plausible UTF-8. */
    static String readRequestId(byte[] value) {
        if (value == null || value.length < 6 || value[0] != 0) {
            return null;
        }
        long len = 0;
        int shift = 0;
        int i = 5;
        while (i < value.length && shift < 35) {
            int b = value[i++] & 0xff;
            len |= (long) (b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0) {
                break;
            }
        }
        long n = (len >>> 1) ^ -(len & 1);   // zig-zag
        if (n < 1 || n > 200 || i + n > value.length) {
            return null;
        }
        try {
            String s = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(value, i, (int) n)).toString();
            return s.chars().allMatch(ch -> ch >= 0x20) ? s : null;
        } catch (CharacterCodingException ex) {
            return null;
        }
    }

    private Long readUser(ConsumerRecord<byte[], byte[]> r) {
        try {
            return r.key() == null ? null : topics.recRequests().keySerde().deserializer().deserialize(r.topic(), r.key());
        } catch (RuntimeException e) {
            return null;
        }
    }

    private ProducerRecord<byte[], byte[]> response(RecommendationResponse resp) {
        String t = topics.recResponses().name();
        return new ProducerRecord<>(t, topics.recResponses().keySerde().serializer().serialize(t, resp.getUserId()),
                topics.recResponses().valueSerde().serializer().serialize(t, resp));
    }

    private void rewind(Set<TopicPartition> parts) {
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(parts);
        for (TopicPartition tp : parts) {
            if (!consumer.assignment().contains(tp)) {
                continue;
            }
            OffsetAndMetadata o = committed.get(tp);
            if (o == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, o.offset());
            }
        }
    }

    private void updateLag() {
        long behind = 0;
        for (TopicPartition tp : consumer.assignment()) {
            var l = consumer.currentLag(tp);
            if (l.isPresent()) {
                behind += l.getAsLong();
            }
        }
        lag.set(behind);
    }

    /** Its transactional producer initialised and the group joined (a partition assignment received). */
    public boolean started() {
        return started.get() && failure == null && thread.isAlive();
    }

    public Throwable failure() {
        return failure;
    }

    public long lag() {
        return lag.get();
    }

    public long answered() {
        return answered.get();
    }

    @Override
    public void close() {
        running.set(false);
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
