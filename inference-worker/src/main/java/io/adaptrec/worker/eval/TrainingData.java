package io.adaptrec.worker.eval;

import io.adaptrec.worker.data.Dataset;
import java.util.List;
import java.util.Map;

/**
 * Everything a recommender may learn from under a protocol, and nothing it may not: test
 * targets (and in llara, test users) are absent. Validation cases are included for early
 * stopping and tuning, with candidates drawn for {@code seed}.
 *
 * @param catalogue  every item with title and genres (metadata is not interaction data, so
 *                   text-aware models may use it for items no training user touched)
 * @param sequences  training sequences by user, in order of the users' first interaction
 */
public record TrainingData(String dataset, Protocol protocol, List<Dataset.Item> catalogue,
        Map<Long, UserSequence> sequences, List<EvalCase> validation, long seed) {

    public long interactionCount() {
        return sequences.values().stream().mapToLong(UserSequence::length).sum();
    }
}
