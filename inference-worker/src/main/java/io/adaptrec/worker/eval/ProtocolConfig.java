package io.adaptrec.worker.eval;

/**
 * Knobs of the split; the defaults are the paper's and should only change for experiments.
 *
 * @param candidates        candidates per query: the target plus {@code candidates - 1} negatives
 * @param maxHistory        most recent items before the target shown in a query
 * @param minSequenceLength users with fewer interactions are dropped
 * @param trainFraction     llara: share of users (by first interaction time) used for training
 * @param validFraction     llara: share of users for validation; the rest are test users
 */
public record ProtocolConfig(int candidates, int maxHistory, int minSequenceLength, double trainFraction,
        double validFraction) {

    public ProtocolConfig {
        require(candidates >= 2, "candidates", candidates, ">= 2");
        require(maxHistory >= 1, "maxHistory", maxHistory, ">= 1");
        require(minSequenceLength >= 3, "minSequenceLength", minSequenceLength,
                ">= 3 (loo needs a training item, a validation target and a test target)");
        require(trainFraction > 0 && trainFraction < 1, "trainFraction", trainFraction, "in (0, 1)");
        require(validFraction >= 0 && trainFraction + validFraction < 1, "validFraction", validFraction,
                "in [0, 1 - trainFraction)");
    }

    /** 20 candidates, 10 history items, sequences of at least 3, 80/10/10. */
    public static ProtocolConfig paper() {
        return new ProtocolConfig(20, 10, 3, 0.8, 0.1);
    }

    private static void require(boolean ok, String key, Object value, String range) {
        if (!ok) {
            throw new IllegalArgumentException("protocol." + key + " = " + value + " is invalid: must be " + range);
        }
    }
}
