package io.adaptrec.streams.outcome;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.schemas.Topic;
import io.adaptrec.streams.DeadLetters;
import io.adaptrec.streams.StreamCounters;
import io.adaptrec.streams.Validation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Joins each response with its user's next interaction, one task per user partition (responses
 * and interactions are co-partitioned by userId), and emits what each event adds to its arm's
 * window as a {@link Delta} keyed by arm (or a {@link DeadLetter} for an unusable response).
 *
 * <p>Per user at most one response waits: a newer awaited response supersedes a waiting one
 * (counted, neither an outcome nor missing). The user's next interaction is then the outcome of
 * the list the user saw last, and one interaction yields one outcome: several near-identical lists
 * answered before the same next event would otherwise count that event several times, and the
 * rollout controller's sequential test would take them as independent evidence.
 *
 * <p>Time is this processor's wall clock when it reads a record ({@link
 * ProcessorContext#currentSystemTimeMs()}), never {@code eventTime} (replays carry historic event
 * times) nor {@code respondedAt} (another machine's clock). A response waits {@code
 * outcome.window.ms} from when it was read. After its deadline it counts missing and is remembered
 * for one more window; an interaction in that time counts late (so late outcomes are a subset of
 * missing ones). Deadlines are kept in an index store ordered by time; a wall-clock punctuator
 * expires what is due, and an interaction checks the deadline itself, so the outcome does not
 * depend on when the punctuator ran.
 */
final class OutcomeProcessor implements Processor<Long, Object, String, Object> {
    /** Bounds one punctuation's work; what is left is expired at the next one (deadlines stay exact). */
    static final int MAX_EXPIRED_PER_PUNCTUATION = 100_000;
    private static final byte[] EMPTY = {};

    private final OutcomeConfig config;
    private final StreamCounters counters;
    private final Topic<Long, RecommendationResponse> responses;
    private ProcessorContext<String, Object> context;
    private KeyValueStore<Long, Pending> pending;
    private KeyValueStore<Bytes, byte[]> deadlines;
    private KeyValueStore<String, Integer> userOutcomes;

    OutcomeProcessor(OutcomeConfig config, StreamCounters counters, Topic<Long, RecommendationResponse> responses) {
        this.config = config;
        this.counters = counters;
        this.responses = responses;
    }

    @Override
    public void init(ProcessorContext<String, Object> context) {
        this.context = context;
        pending = context.getStateStore(OutcomeTopology.PENDING_STORE);
        deadlines = context.getStateStore(OutcomeTopology.DEADLINE_STORE);
        userOutcomes = context.getStateStore(OutcomeTopology.USER_OUTCOMES_STORE);
        context.schedule(Duration.ofMillis(config.emitIntervalMs()), PunctuationType.WALL_CLOCK_TIME, this::expire);
    }

    @Override
    public void process(Record<Long, Object> record) {
        if (record.value() instanceof RecommendationResponse r) {
            response(record, r);
        } else if (record.value() instanceof Interaction i) {
            interaction(record.key(), i);
        } else if (record.value() == null && fromResponses()) {
            counters.outcomeResponses.incrementAndGet();
            deadLetter(record, "tombstone on rec-responses: responses are facts, there is nothing to delete");
        } else {
            // interaction tombstones delete user state; the user-state application handles them
            counters.outcomeInteractions.incrementAndGet();
            counters.outcomeSkippedInteractions.incrementAndGet();
        }
    }

    private void response(Record<Long, Object> record, RecommendationResponse r) {
        counters.outcomeResponses.incrementAndGet();
        String error = Validation.response(record.key(), r);
        if (error != null) {
            counters.invalid.incrementAndGet();
            deadLetter(record, error);
            return;
        }
        Delta.Arm arm = armOf(r, config.metricsWindowMs());
        boolean failed = r.getStatus() == ResponseStatus.ERROR || r.getStatus() == ResponseStatus.INVALID_REQUEST
                || r.getStatus() == ResponseStatus.TIMEOUT;
        long now = context.currentSystemTimeMs();
        forward(Delta.served(arm, failed, r.getLatencyMicros()), now);
        if (failed) return; // no list was shown: nothing to wait for, and a waiting list stays waiting

        long user = record.key();
        Pending old = pending.get(user);
        if (old != null) {
            deadlines.delete(OutcomeCodecs.dueKey(old.dueAt(), user));
            if (!old.expired() && now > old.dueAt()) {
                missing(old, now); // due, but the punctuator had not got to it yet
            } else if (!old.expired()) {
                counters.outcomesSuperseded.incrementAndGet();
            }
        }
        long[] items = new long[r.getItems().size()];
        int i = 0;
        for (ScoredItem s : r.getItems()) items[i++] = s.getItemId();
        Pending next = new Pending(arm, items, false, now + config.windowMs());
        pending.put(user, next);
        deadlines.put(OutcomeCodecs.dueKey(next.dueAt(), user), EMPTY);
    }

    private void interaction(Long user, Interaction v) {
        counters.outcomeInteractions.incrementAndGet();
        if (Validation.interaction(user, v) != null) { // dead-lettered by the user-state application
            counters.outcomeSkippedInteractions.incrementAndGet();
            return;
        }
        Pending p = pending.get(user);
        if (p == null) {
            counters.outcomeUnmatchedInteractions.incrementAndGet();
            return;
        }
        long now = context.currentSystemTimeMs();
        pending.delete(user);
        deadlines.delete(OutcomeCodecs.dueKey(p.dueAt(), user));
        if (!p.expired() && now <= p.dueAt()) {
            counters.outcomesJoined.incrementAndGet();
            if (overCap(p.arm(), user)) {
                counters.outcomesCapped.incrementAndGet();
                return;
            }
            forward(Delta.outcome(p.arm(), Delta.rankOf(p.items(), v.getItemId())), now);
        } else if (!p.expired()) { // past the deadline, before the punctuator expired it
            missing(p, now);
            late(p, now);
        } else if (now <= p.dueAt()) {
            late(p, now);
        } else {
            counters.outcomeUnmatchedInteractions.incrementAndGet(); // remembered long enough; forgotten
        }
    }

    /**
     * Whether this outcome of {@code user} exceeds {@code outcome.max-per-user} in its experiment
     * (counting it when it does not). Users are the randomised unit: counting only their first
     * outcome(s) keeps the samples the sequential test adds up independent. The production
     * pseudo-experiment counts every outcome.
     */
    private boolean overCap(Delta.Arm arm, long user) {
        int cap = config.maxOutcomesPerUser();
        if (cap == 0 || arm.experimentId().equals(OutcomeTopology.PRODUCTION)) {
            return false;
        }
        String key = arm.experimentId() + "/" + user;
        Integer n = userOutcomes.get(key);
        int seen = n == null ? 0 : n;
        if (seen >= cap) {
            return true;
        }
        userOutcomes.put(key, seen + 1);
        return false;
    }

    /** Expires responses whose deadline passed (missing) and forgets expired ones a window later. */
    private void expire(long now) {
        List<Bytes> due = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = deadlines.range(null, OutcomeCodecs.lastDueKey(now))) {
            while (it.hasNext() && due.size() < MAX_EXPIRED_PER_PUNCTUATION) {
                KeyValue<Bytes, byte[]> kv = it.next();
                due.add(kv.key);
            }
        }
        for (Bytes key : due) {
            deadlines.delete(key);
            long user = OutcomeCodecs.dueUser(key);
            Pending p = pending.get(user);
            if (p == null || p.dueAt() != OutcomeCodecs.dueAt(key)) continue; // superseded or resolved
            if (p.expired()) {
                pending.delete(user);
            } else {
                missing(p, now);
                Pending e = p.expire(config.windowMs());
                pending.put(user, e);
                deadlines.put(OutcomeCodecs.dueKey(e.dueAt(), user), EMPTY);
            }
        }
    }

    private void missing(Pending p, long now) {
        counters.outcomesMissing.incrementAndGet();
        forward(Delta.missing(p.arm()), now);
    }

    private void late(Pending p, long now) {
        counters.outcomesLate.incrementAndGet();
        forward(Delta.late(p.arm()), now);
    }

    private void forward(Delta d, long timestamp) {
        context.forward(new Record<>(d.arm().key(), d, timestamp));
    }

    /**
     * A response's arm. Without an experiment the production model is still measured: as experiment
     * {@value OutcomeTopology#PRODUCTION} arm {@value OutcomeTopology#CONTROL}.
     */
    static Delta.Arm armOf(RecommendationResponse r, long metricsWindowMs) {
        long t = r.getRespondedAt().toEpochMilli();
        long windowStart = t - Math.floorMod(t, metricsWindowMs);
        return r.getExperimentId() == null
                ? new Delta.Arm(OutcomeTopology.PRODUCTION, OutcomeTopology.CONTROL, r.getAdapterVersion(), windowStart)
                : new Delta.Arm(r.getExperimentId(), r.getArm(), r.getAdapterVersion(), windowStart);
    }

    private boolean fromResponses() {
        return context.recordMetadata().map(RecordMetadata::topic).map(responses.name()::equals).orElse(false);
    }

    private void deadLetter(Record<Long, Object> record, String reason) {
        RecordMetadata md = context.recordMetadata().orElse(null);
        String topic = md == null ? responses.name() : md.topic();
        byte[] rawKey = record.key() == null ? null : responses.keySerde().serializer().serialize(topic, record.key());
        byte[] rawValue = record.value() instanceof RecommendationResponse r
                ? responses.valueSerde().serializer().serialize(topic, r) : null;
        DeadLetter letter = DeadLetters.of(OutcomeTopology.DEAD_LETTER_SOURCE, topic, md == null ? -1 : md.partition(),
                md == null ? -1 : md.offset(), reason, "outcome-join", rawKey, rawValue, context.currentSystemTimeMs());
        context.forward(new Record<>(topic, letter, record.timestamp()));
        counters.deadLettered.incrementAndGet();
    }
}
