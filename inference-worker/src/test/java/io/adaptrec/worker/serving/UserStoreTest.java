package io.adaptrec.worker.serving;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Both stores behind the mirror keep the same per-user state, including deletes and first-seen times. */
class UserStoreTest {

    @TempDir
    static Path tmp;

    static Stream<String> stores() {
        return Stream.of("memory", "rocksdb");
    }

    private static UserStore open(String kind, String name) {
        return kind.equals("memory") ? UserStore.inMemory() : UserStore.rocksDb(tmp.resolve(name));
    }

    @ParameterizedTest
    @MethodSource("stores")
    void historiesPoolsAndSeenSetsRoundTrip(String kind) {
        try (UserStore s = open(kind, "a")) {
            s.putHistory(7, new StateMirror.History(new long[] {3, 5}, new long[] {100, 200}, "v1"));
            s.putHistory(7, new StateMirror.History(new long[] {3, 5, 9}, new long[] {100, 200, 300}, "v2"));
            s.putPool(7, new StateMirror.Pool(new long[] {8, -2}, new float[] {0.9f, 0.5f}, "v2", 4));
            s.putHistory(-2, new StateMirror.History(new long[0], new long[0], null));
            assertThat(s.users()).isEqualTo(2);
            assertThat(s.pools()).isEqualTo(1);
            StateMirror.History h = s.history(7);
            assertThat(h.items()).containsExactly(3, 5, 9);
            assertThat(h.times()).containsExactly(100, 200, 300);
            assertThat(h.embeddingVersion()).isEqualTo("v2");
            assertThat(h.itemsBefore(250)).containsExactly(3, 5);
            assertThat(s.history(-2).embeddingVersion()).isNull();
            StateMirror.Pool p = s.pool(7);
            assertThat(p.members()).containsExactly(8, -2);
            assertThat(p.similarities()).containsExactly(0.9f, 0.5f);
            assertThat(p.version()).isEqualTo(4);
            assertThat(s.history(8)).isNull();
            assertThat(s.pool(8)).isNull();

            s.addSeen(7, 42, 500);
            s.addSeen(7, 42, 300);   // an earlier, late-arriving event wins
            s.addSeen(7, 42, 900);
            assertThat(s.seenBefore(7, 42, 301)).isTrue();
            assertThat(s.seenBefore(7, 42, 300)).isFalse();
            assertThat(s.seenBefore(7, 43, Long.MAX_VALUE)).isFalse();
        }
    }

    @ParameterizedTest
    @MethodSource("stores")
    void aDeletedUserTakesOnlyTheirOwnStateWithThem(String kind) {
        try (UserStore s = open(kind, "b")) {
            for (long u : new long[] {-1, 0, 1, 2, Long.MAX_VALUE, Long.MIN_VALUE}) {
                s.putHistory(u, new StateMirror.History(new long[] {1}, new long[] {1}, "v"));
                s.putPool(u, new StateMirror.Pool(new long[] {5}, new float[] {1f}, "v", 1));
                for (long item : new long[] {Long.MIN_VALUE, -5, 0, 5, Long.MAX_VALUE}) {
                    s.addSeen(u, item, 10);
                }
            }
            s.removeUser(1);
            s.removeUser(Long.MAX_VALUE);
            assertThat(s.users()).isEqualTo(4);
            assertThat(s.pools()).as("pools go with their own tombstones").isEqualTo(6);
            for (long u : new long[] {1, Long.MAX_VALUE}) {
                assertThat(s.history(u)).isNull();
                assertThat(s.seenBefore(u, 5, 11)).isFalse();
                assertThat(s.seenBefore(u, Long.MAX_VALUE, 11)).isFalse();
            }
            for (long u : new long[] {-1, 0, 2, Long.MIN_VALUE}) {
                assertThat(s.history(u)).isNotNull();
                for (long item : new long[] {Long.MIN_VALUE, -5, 0, 5, Long.MAX_VALUE}) {
                    assertThat(s.seenBefore(u, item, 11)).as("user %d item %d", u, item).isTrue();
                }
            }
            s.removePool(0);
            assertThat(s.pool(0)).isNull();
            assertThat(s.history(0)).isNotNull();
        }
    }
}
