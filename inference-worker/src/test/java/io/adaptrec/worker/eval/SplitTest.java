package io.adaptrec.worker.eval;

import static io.adaptrec.worker.eval.Fixtures.MINUTE;
import static io.adaptrec.worker.eval.Fixtures.T0;
import static io.adaptrec.worker.eval.Fixtures.interaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.Datasets;
import io.adaptrec.worker.data.LoadOptions;
import io.adaptrec.worker.data.TestData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class SplitTest {

    private static final long HOUR = 60 * MINUTE;

    /**
     * 21 users; user u starts at T0 + (21 - u) minutes, so first-interaction order is 21, 20, ..., 1
     * (the reverse of id order). User u watches items 15u+1 .. 15u+14, one an hour; user 21 only two.
     */
    private static Dataset staggered() {
        List<Dataset.Event> events = new ArrayList<>();
        for (long u = 1; u <= 21; u++) {
            int length = u == 21 ? 2 : 14;
            for (int k = 1; k <= length; k++) {
                events.add(interaction(u, 15 * u + k, T0 + (21 - u) * MINUTE + k * HOUR));
            }
        }
        return Fixtures.dataset(400, events);
    }

    private static long[] items(long user, int fromK, int toK) {
        return LongStream.rangeClosed(fromK, toK).map(k -> 15 * user + k).toArray();
    }

    @Test
    void llaraSplitsUsersByFirstInteraction80_10_10() {
        Split split = Split.create(staggered(), Protocol.LLARA);
        assertThat(split.droppedShort()).isEqualTo(1);
        assertThat(split.training().keySet()).containsExactly(20L, 19L, 18L, 17L, 16L, 15L, 14L, 13L, 12L, 11L, 10L,
                9L, 8L, 7L, 6L, 5L);
        assertThat(split.holdouts(Stage.VALIDATION)).extracting(Holdout::userId).containsExactly(4L, 3L);
        assertThat(split.holdouts(Stage.TEST)).extracting(Holdout::userId).containsExactly(2L, 1L);
        assertThat(split.training().get(5L).items()).containsExactly(items(5, 1, 14));

        Holdout user1 = split.holdouts(Stage.TEST).get(1);
        assertThat(user1.target()).isEqualTo(15 + 14);
        assertThat(user1.history()).containsExactly(items(1, 4, 13));
    }

    @Test
    void looHoldsOutTheLastTwoItemsOfEveryUser() {
        Split split = Split.create(staggered(), Protocol.LOO);
        assertThat(split.training()).hasSize(20);
        UserSequence train = split.training().get(3L);
        assertThat(train.items()).containsExactly(items(3, 1, 12));
        assertThat(train.timesMillis()).hasSize(12);

        Holdout valid = split.holdouts(Stage.VALIDATION).stream().filter(h -> h.userId() == 3).findFirst().orElseThrow();
        Holdout test = split.holdouts(Stage.TEST).stream().filter(h -> h.userId() == 3).findFirst().orElseThrow();
        assertThat(valid.target()).isEqualTo(15 * 3 + 13);
        assertThat(valid.history()).containsExactly(items(3, 3, 12));
        assertThat(test.target()).isEqualTo(15 * 3 + 14);
        assertThat(test.history()).containsExactly(items(3, 4, 13)).contains(valid.target());
        assertThat(train.items()).doesNotContain(valid.target(), test.target());
    }

    @Test
    void candidatesAreTwentyDistinctUnseenItemsPlusTheTargetAndDeterministicPerSeed() {
        Split split = Split.create(staggered(), Protocol.LOO);
        List<EvalCase> cases = split.testCases(7);
        Set<Integer> targetPositions = new HashSet<>();
        for (EvalCase c : cases) {
            long[] candidates = c.query().candidates();
            assertThat(candidates).hasSize(20).doesNotHaveDuplicates().contains(c.target());
            long user = c.query().userId();
            long[] others = Arrays.stream(items(user, 1, 14)).filter(i -> i != c.target()).toArray();
            assertThat(candidates).doesNotContain(others);
            targetPositions.add(c.targetIndex());
        }
        assertThat(targetPositions).as("the target must not sit at a fixed position").hasSizeGreaterThan(3);
        assertThat(candidateLists(split.testCases(7))).isEqualTo(candidateLists(cases));
        assertThat(candidateLists(split.testCases(8))).isNotEqualTo(candidateLists(cases));
    }

    @Test
    void fullRankingExcludesEverythingSeenBeforeTheTarget() {
        Split split = Split.create(staggered(), Protocol.LOO);
        EvalCase c = split.fullRankingCases(Stage.TEST).stream().filter(e -> e.query().userId() == 3)
                .findFirst().orElseThrow();
        assertThat(c.query().candidates()).hasSize(400 - 13).contains(c.target())
                .doesNotContain(items(3, 1, 13));
    }

    @Test
    void trainingDataCarriesNoTestUsersOrTargets() {
        Split split = Split.create(staggered(), Protocol.LLARA);
        TrainingData data = split.trainingData(3);
        assertThat(data.sequences()).isSameAs(split.training());
        assertThat(data.sequences().keySet()).doesNotContain(1L, 2L);
        assertThat(candidateLists(data.validation())).isEqualTo(candidateLists(split.validationCases(3)));
        assertThat(data.interactionCount()).isEqualTo(16 * 14);
        assertThat(data.catalogue()).hasSize(400);
    }

    @Test
    void noLeakageOnMovieLens100k() {
        Dataset ml = Datasets.load(DatasetKind.MOVIELENS, TestData.ml100k(), LoadOptions.defaults()).dataset();
        Split llara = Split.create(ml, Protocol.LLARA);
        assertThat(llara.training()).hasSize(754);
        assertThat(llara.holdouts(Stage.VALIDATION)).hasSize(94);
        assertThat(llara.holdouts(Stage.TEST)).hasSize(95);
        Set<Long> heldOutUsers = new HashSet<>();
        llara.holdouts(Stage.TEST).forEach(h -> heldOutUsers.add(h.userId()));
        llara.holdouts(Stage.VALIDATION).forEach(h -> heldOutUsers.add(h.userId()));
        assertThat(heldOutUsers).hasSize(189).doesNotContainAnyElementsOf(llara.training().keySet());
        assertThat(llara.trainingInteractions()).isLessThan(100_000);

        Split loo = Split.create(ml, Protocol.LOO);
        assertThat(loo.training()).hasSize(943);
        assertThat(loo.trainingInteractions()).isEqualTo(100_000 - 2 * 943);
        Map<Long, UserSequence> train = loo.training();
        for (Holdout h : loo.holdouts(Stage.TEST)) {
            long[] seq = train.get(h.userId()).items();
            assertThat(seq).doesNotContain(h.target());
            assertThat(h.targetTimeMillis()).isGreaterThanOrEqualTo(
                    train.get(h.userId()).timesMillis()[seq.length - 1]);
        }
        for (EvalCase c : loo.testCases(1)) {
            assertThat(c.query().candidates()).hasSize(20).doesNotHaveDuplicates().contains(c.target());
        }
    }

    @Test
    void usersWithTooFewUnseenItemsAreDroppedAndCounted() {
        List<Dataset.Event> events = new ArrayList<>();
        for (long u = 1; u <= 2; u++) {
            int length = u == 1 ? 5 : 3;
            for (int k = 0; k < length; k++) {
                events.add(interaction(u, k + 1, T0 + k * HOUR + u));
            }
        }
        Split split = Split.create(Fixtures.dataset(23, events), Protocol.LOO);
        // user 1 leaves 18 unseen items of 23 (19 needed), user 2 leaves 20.
        assertThat(split.holdouts(Stage.TEST)).extracting(Holdout::userId).containsExactly(2L);
        assertThat(split.droppedNoNegatives()).isEqualTo(2);
        assertThat(split.summary()).contains("2 cases dropped (too few unseen items)");
    }

    @Test
    void rejectsUnsortedDataAndBadConfig() {
        Dataset unsorted = new Dataset("bad", Fixtures.catalogue(30),
                List.of(interaction(1, 1, T0 + 5), interaction(1, 2, T0)));
        assertThatThrownBy(() -> Split.create(unsorted, Protocol.LOO)).hasMessageContaining("not sorted by time");
        assertThatThrownBy(() -> new ProtocolConfig(20, 10, 3, 0.8, 0.3))
                .hasMessage("protocol.validFraction = 0.3 is invalid: must be in [0, 1 - trainFraction)");
        assertThatThrownBy(() -> Protocol.parse("kfold")).hasMessageContaining("expected llara or loo");
    }

    private static List<List<Long>> candidateLists(List<EvalCase> cases) {
        return cases.stream().map(c -> Arrays.stream(c.query().candidates()).boxed().toList()).toList();
    }
}
