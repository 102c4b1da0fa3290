package io.adaptrec.streams;

import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.ItemEmbedding;
import io.adaptrec.avro.RecommendationResponse;
import java.util.List;

/**
 * Checks that decide whether an input record may change state. Each returns null when the record
 * is valid, or the reason, phrased so that whoever reads the dead-letter topic can act on it.
 */
public final class Validation {
    /** Longer vectors are certainly a producer bug, and would bloat every cached entry. */
    static final int MAX_VECTOR_LENGTH = 65_536;

    private Validation() {}

    public static String interaction(Long key, Interaction v) {
        if (key == null) return "missing key: interactions must be keyed by userId " + v.getUserId();
        if (key != v.getUserId()) return "key " + key + " does not match userId " + v.getUserId();
        if (v.getUserId() < 0) return "userId " + v.getUserId() + " is negative";
        if (v.getItemId() < 0) return "itemId " + v.getItemId() + " is negative";
        if (v.getEventTime() == null || v.getEventTime().toEpochMilli() <= 0) {
            return "eventTime " + v.getEventTime() + " is not after 1970-01-01";
        }
        Float r = v.getRating();
        if (r != null && !Float.isFinite(r)) return "rating " + r + " is not a finite number";
        return null;
    }

    /** A response the outcome topology can attribute: keyed by its user, with an arm and a response time. */
    public static String response(Long key, RecommendationResponse v) {
        if (key == null) return "missing key: rec-responses must be keyed by userId " + v.getUserId();
        if (key != v.getUserId()) return "key " + key + " does not match userId " + v.getUserId();
        if (v.getArm() == null || v.getArm().isBlank()) return "response " + v.getRequestId() + " has no arm";
        if (v.getExperimentId() != null && v.getExperimentId().isBlank()) {
            return "response " + v.getRequestId() + " has a blank experimentId (null means no experiment)";
        }
        if (v.getRespondedAt() == null || v.getRespondedAt().toEpochMilli() <= 0) {
            return "respondedAt " + v.getRespondedAt() + " is not after 1970-01-01";
        }
        if (v.getLatencyMicros() < 0) return "latencyMicros " + v.getLatencyMicros() + " is negative";
        return null;
    }

    static String item(Long key, Item v, TextEmbedding text) {
        if (key == null) return "missing key: items must be keyed by itemId " + v.getItemId();
        if (key != v.getItemId()) return "key " + key + " does not match itemId " + v.getItemId();
        if (key < 0) return "itemId " + key + " is negative";
        if (text.embed(v.getTitle(), v.getGenres()) == null) {
            return "item " + key + " has neither title words nor genres to embed";
        }
        return null;
    }

    static String embedding(Long key, ItemEmbedding v) {
        if (key == null) return "missing key: item embeddings must be keyed by itemId " + v.getItemId();
        if (key != v.getItemId()) return "key " + key + " does not match itemId " + v.getItemId();
        if (key < 0) return "itemId " + key + " is negative";
        if (v.getModelVersion() == null || v.getModelVersion().isBlank()) return "modelVersion is blank";
        List<Float> vector = v.getVector();
        if (vector == null || vector.isEmpty()) return "vector of item " + key + " is empty";
        if (vector.size() > MAX_VECTOR_LENGTH) {
            return "vector length " + vector.size() + " exceeds " + MAX_VECTOR_LENGTH;
        }
        for (int i = 0; i < vector.size(); i++) {
            Float f = vector.get(i);
            if (f == null || !Float.isFinite(f)) return "vector[" + i + "] = " + f + " is not a finite number";
        }
        return null;
    }
}
