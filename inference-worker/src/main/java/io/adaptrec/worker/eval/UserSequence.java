package io.adaptrec.worker.eval;

/**
 * One user's training interactions in time order.
 *
 * @param items       item ids, oldest first
 * @param timesMillis event times, parallel to {@code items}
 */
public record UserSequence(long userId, long[] items, long[] timesMillis) {

    public UserSequence {
        if (items.length != timesMillis.length) {
            throw new IllegalArgumentException("user " + userId + ": " + items.length + " items but "
                    + timesMillis.length + " times");
        }
    }

    public int length() {
        return items.length;
    }
}
