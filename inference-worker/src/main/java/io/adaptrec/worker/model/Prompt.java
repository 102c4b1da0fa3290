package io.adaptrec.worker.model;

/**
 * A rendered prompt as token ids.
 *
 * @param tokens      the token ids; the answer slot is the last position
 * @param lmPositions positions whose next token is an item of a demonstration or of the history
 *                    (auxiliary language-model targets while training)
 * @param lmTargets   the item token that follows each of {@code lmPositions}
 */
public record Prompt(int[] tokens, int[] lmPositions, int[] lmTargets) {

    public int answerPosition() {
        return tokens.length - 1;
    }

    /**
     * A bare item sequence, no demonstrations and no candidate list: {@code prefix} followed by the
     * last {@code historyLen} items of {@code history}, the answer slot after the last item (how SASRec
     * scores, and what stage A trains on).
     */
    public static Prompt sequence(int[] prefix, Vocabulary vocab, long[] history, int historyLen) {
        int from = Math.max(0, history.length - historyLen);
        int[] tok = java.util.Arrays.copyOf(prefix, prefix.length + history.length - from);
        for (int i = from; i < history.length; i++) {
            tok[prefix.length + i - from] = vocab.itemToken(history[i]);
        }
        return new Prompt(tok, new int[0], new int[0]);
    }
}
