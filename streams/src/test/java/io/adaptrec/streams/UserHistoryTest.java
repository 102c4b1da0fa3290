package io.adaptrec.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.streams.UserHistory.Entry;
import io.adaptrec.streams.UserHistory.Outcome;
import org.junit.jupiter.api.Test;

class UserHistoryTest {
    private static final long T0 = 1_700_000_000_000L;
    private static final long GRACE = 60_000;

    private static Entry at(long item, long offsetMs) {
        return new Entry(item, T0 + offsetMs, null);
    }

    private static UserHistory apply(int capacity, Entry... events) {
        UserHistory h = UserHistory.empty(7);
        for (Entry e : events) h = h.insert(e, capacity, GRACE).history();
        return h;
    }

    @Test
    void keepsTheMostRecentCapacityEntriesOldestFirst() {
        UserHistory h = apply(3, at(1, 0), at(2, 10), at(3, 20), at(4, 30));
        assertThat(h.entries()).extracting(Entry::itemId).containsExactly(2L, 3L, 4L);
    }

    @Test
    void lateEventWithinGraceIsPlacedInOrder() {
        UserHistory h = apply(5, at(1, 0), at(3, 20_000));
        UserHistory.Insert r = h.insert(at(2, 10_000), 5, GRACE);
        assertThat(r.outcome()).isEqualTo(Outcome.ADDED);
        assertThat(r.history().entries()).extracting(Entry::itemId).containsExactly(1L, 2L, 3L);
    }

    @Test
    void eventBeyondGraceIsRejectedAsLate() {
        UserHistory h = apply(5, at(1, 100_000));
        assertThat(h.insert(at(2, 100_000 - GRACE - 1), 5, GRACE).outcome()).isEqualTo(Outcome.LATE);
        assertThat(h.insert(at(2, 100_000 - GRACE), 5, GRACE).outcome()).isEqualTo(Outcome.ADDED);
    }

    @Test
    void duplicateSameItemSameTimeCountsOnce() {
        UserHistory h = apply(5, at(1, 0), at(2, 10));
        UserHistory.Insert r = h.insert(at(1, 0), 5, GRACE);
        assertThat(r.outcome()).isEqualTo(Outcome.DUPLICATE);
        assertThat(r.history()).isSameAs(h);
        // same item at another time is a new interaction
        assertThat(h.insert(at(1, 20), 5, GRACE).outcome()).isEqualTo(Outcome.ADDED);
    }

    @Test
    void olderThanAFullWindowChangesNothing() {
        UserHistory h = apply(2, at(1, 10), at(2, 20));
        assertThat(h.insert(at(3, 5), 2, GRACE).outcome()).isEqualTo(Outcome.BELOW_WINDOW);
        assertThat(h.insert(at(3, 15), 2, GRACE).history().entries()).extracting(Entry::itemId).containsExactly(3L, 2L);
    }

    @Test
    void sameTimestampIsOrderedByItemSoArrivalOrderDoesNotMatter() {
        UserHistory a = apply(2, at(5, 0), at(3, 0), at(4, 0));
        UserHistory b = apply(2, at(4, 0), at(5, 0), at(3, 0));
        assertThat(a.entries()).isEqualTo(b.entries());
        assertThat(a.entries()).extracting(Entry::itemId).containsExactly(4L, 5L);
    }

    @Test
    void truncateShrinksToTheNewestEntries() {
        UserHistory h = apply(4, at(1, 0), at(2, 1), at(3, 2));
        assertThat(h.truncate(2).entries()).extracting(Entry::itemId).containsExactly(2L, 3L);
        assertThat(h.truncate(5)).isSameAs(h);
    }
}
