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
}
