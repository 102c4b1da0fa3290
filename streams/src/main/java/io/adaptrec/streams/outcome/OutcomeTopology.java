package io.adaptrec.streams.outcome;

import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.Topics;
import io.adaptrec.streams.DeadLetters;
import io.adaptrec.streams.StreamCounters;
import io.adaptrec.streams.UserStateConfig;
import io.adaptrec.streams.UserStateTopology;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.WallclockTimestampExtractor;
import org.apache.kafka.streams.state.Stores;

/**
 * Online experiment metrics: each recommendation response joined with its user's next interaction,
 * summed per (experiment, arm, metrics window) into {@link ArmMetrics} on {@code experiment-metrics}.
 *
 * <pre>
 *  rec-responses ─┐ (keyed by userId, co-partitioned)
 *  interactions ──┴─► outcome-join ─► arm deltas ─► [repartition by experimentId/arm] ─► arm-aggregate ─► experiment-metrics
 *                      │ stores: pending responses, deadline index           │ stores: windows, changed windows
 *                      └─► dead-letter (unusable responses)                   (all RocksDB + changelog)
 * </pre>
 *
 * <h2>What is counted</h2>
 * Every response counts {@code served} and its {@code latencyMicros} (sum and histogram) in the
 * window of its {@code respondedAt}. ERROR, INVALID_REQUEST and TIMEOUT responses also count
 * {@code errors} and wait for nothing. An OK or FALLBACK response waits {@code outcome.window.ms}
 * for the user's next interaction; its rank r in the served list (1 = first) gives {@code outcomes}
 * +1, {@code hitsAt1} (r = 1), {@code hitsAt5} (r ≤ 5) and {@code ndcgSum} += 1/log2(r+1), 0 when
 * the item is not in the list. A response whose window closes without one counts
 * {@code missingOutcomes}; an interaction within one more window counts {@code lateOutcomes}
 * (a subset of the missing ones, never an outcome). Only the latest waiting response of a user is
 * joined (see {@link OutcomeProcessor}). Responses without an experiment are counted as experiment
 * {@value #PRODUCTION}, arm {@value #CONTROL}: the production model is measured too.
 *
 * <h2>The experiment-metrics contract</h2>
 * Key {@link Topics#armKey "experimentId/arm"}; every record is the <em>full running aggregate</em>
 * of one window (not an increment). A later record for the same key and {@code windowStart}
 * supersedes the earlier one; consumers keep the latest per (key, windowStart) and sum windows for
 * longer periods. Changed windows are published every {@code outcome.emit.interval.ms}; a window
 * keeps changing for up to two outcome windows after its end (outcomes, then missing and late
 * counts). Records are written in exactly-once transactions: read them with
 * {@code isolation.level=read_committed}.
 *
 * <h2>Time</h2>
 * Both sources use the wall-clock timestamp extractor: replayed interactions carry historic
 * timestamps, and Kafka Streams interleaves a task's partitions by timestamp, so with record
 * timestamps a replayed interaction would be processed before a response that arrived earlier.
 * With arrival time the order of the two topics is the order this application read them. The
 * outcome window is measured on the same clock; the metrics window is the response's
 * {@code respondedAt}, i.e. when it was served.
 *
 * <p>{@link #buildTopology} is a pure function of its arguments; the application runs with its own
 * application id ({@link #applicationId}) next to the user-state application (see {@code StreamsApp}).
 */
public final class OutcomeTopology {
    public static final String PENDING_STORE = "outcome-pending";
    /** Outcomes counted per "experimentId/userId" (for outcome.max-per-user). */
    public static final String USER_OUTCOMES_STORE = "outcome-user-counts";
    public static final String DEADLINE_STORE = "outcome-deadlines";
    public static final String METRICS_STORE = "outcome-arm-windows";
    public static final String CHANGED_STORE = "outcome-arm-windows-changed";
    /** Experiment and arm of responses served outside any experiment. */
    public static final String PRODUCTION = "production";
    public static final String CONTROL = "control";
    static final String DEAD_LETTER_SOURCE = "streams/OutcomeTopology";

    private OutcomeTopology() {}

    public static String applicationId(UserStateConfig config) {
        return config.applicationId() + "-outcomes";
    }

    public static Topology buildTopology(UserStateConfig config, Topics topics, StreamCounters counters) {
        OutcomeConfig oc = config.outcome();
        Topic<Long, RecommendationResponse> responses = topics.recResponses();
        Topic<Long, Interaction> interactions = topics.interactions();
        if (responses.partitions() != interactions.partitions()) {
            // the join needs a user's responses and interactions in the same task
            throw new IllegalStateException(responses.name() + " declares " + responses.partitions() + " partitions and "
                    + interactions.name() + " " + interactions.partitions() + ": the outcome join needs them co-partitioned");
        }
        StreamsBuilder b = new StreamsBuilder();
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PENDING_STORE),
                Serdes.Long(), OutcomeCodecs.pendingSerde()).withCachingEnabled());
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(USER_OUTCOMES_STORE),
                Serdes.String(), Serdes.Integer()).withCachingEnabled());
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(DEADLINE_STORE),
                Serdes.Bytes(), Serdes.ByteArray()).withCachingEnabled());
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(METRICS_STORE),
                Serdes.Bytes(), OutcomeCodecs.windowSerde()).withCachingEnabled());
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(CHANGED_STORE),
                Serdes.Bytes(), Serdes.ByteArray()).withCachingEnabled());

        KStream<Long, Object> in = b.stream(responses.name(), Consumed.with(responses.keySerde(), responses.valueSerde())
                        .withTimestampExtractor(new WallclockTimestampExtractor()).withName("rec-responses-source"))
                .<Object>mapValues(v -> v, Named.as("responses-as-input"))
                .merge(b.stream(interactions.name(), Consumed.with(interactions.keySerde(), interactions.valueSerde())
                                .withTimestampExtractor(new WallclockTimestampExtractor()).withName("interactions-source"))
                        .<Object>mapValues(v -> v, Named.as("interactions-as-input")), Named.as("responses-and-interactions"));

        Topic<String, DeadLetter> deadLetter = topics.deadLetter();
        Topic<String, ArmMetrics> metrics = topics.experimentMetrics();
        in.process(() -> new OutcomeProcessor(oc, counters, responses), Named.as("outcome-join"), PENDING_STORE, DEADLINE_STORE,
                        USER_OUTCOMES_STORE)
                .split(Named.as("outcome-"))
                .branch((k, v) -> v instanceof DeadLetter, Branched.withConsumer(s -> s
                        .mapValues(v -> (DeadLetter) v, Named.as("as-dead-letter"))
                        .to(deadLetter.name(), Produced.with(deadLetter.keySerde(), deadLetter.valueSerde())
                                .withName("dead-letter-sink")), "dead-letters"))
                .defaultBranch(Branched.withConsumer(s -> s
                        .mapValues(v -> (Delta) v, Named.as("as-delta"))
                        .repartition(Repartitioned.with(Serdes.String(), OutcomeCodecs.deltaSerde()).withName("arm-deltas"))
                        .process(() -> new ArmAggregator(oc, counters), Named.as("arm-aggregate"), METRICS_STORE, CHANGED_STORE)
                        .to(metrics.name(), Produced.with(metrics.keySerde(), metrics.valueSerde())
                                .withName("experiment-metrics-sink")), "deltas"));
        return b.build();
    }

    /**
     * The user-state application's settings (connection, guarantee, commit interval, state dir,
     * {@code kafka.*}) with this application's id and thread count. Undeserializable interactions
     * are skipped here: the user-state application dead-letters them already.
     */
    public static Properties streamsConfig(UserStateConfig config, Topics topics, StreamCounters counters) {
        Properties p = UserStateTopology.streamsConfig(config, counters);
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId(config));
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.outcome().numStreamThreads());
        p.remove(StreamsConfig.APPLICATION_SERVER_CONFIG);
        p.put(DeadLetters.SOURCE_CONFIG, DEAD_LETTER_SOURCE);
        p.put(DeadLetters.SKIP_TOPICS_CONFIG, topics.interactions().name());
        return p;
    }

    /**
     * Kafka Streams does not check that a processor's two source topics are co-partitioned, and
     * topics created elsewhere may differ from their declaration: this fails fast when the actual
     * partition counts differ. Topics that do not exist yet are left to Kafka Streams to report.
     */
    public static void checkCopartitioned(Admin admin, Topics topics, Duration timeout) {
        String r = topics.recResponses().name();
        String i = topics.interactions().name();
        Map<String, TopicDescription> d;
        try {
            d = admin.describeTopics(List.of(r, i)).allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) return;
            throw new IllegalStateException("cannot describe " + r + " and " + i + ": " + e.getCause().getMessage(), e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("cannot describe " + r + " and " + i + " within " + timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while describing " + r + " and " + i, e);
        }
        int rp = d.get(r).partitions().size();
        int ip = d.get(i).partitions().size();
        if (rp != ip) {
            throw new IllegalStateException(r + " has " + rp + " partitions and " + i + " " + ip
                    + ": the outcome join needs them co-partitioned (same count, both keyed by userId); recreate one of them");
        }
    }
}
