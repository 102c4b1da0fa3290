package io.adaptrec.worker.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.worker.model.AdaptRec;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.Fixtures;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.PromptTemplate;
import io.adaptrec.worker.model.RecLMConfig;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.OfflineNeighbourhood;
import io.adaptrec.worker.selection.SimilarUsers;
import io.adaptrec.worker.selection.Strategy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AdapterArmsTest {

    private static final Verifier.Probe PROBE = Verifier.probe(Fixtures.vocabulary());
    /** Scores of the probe set with each adapter installed in place, the old way ("base": none). */
    private static final Map<String, float[][]> REFERENCE = new HashMap<>();
    private static final Map<String, float[]> REFERENCE_ANSWER = new HashMap<>();

    @BeforeAll
    static void referenceScores() throws IOException {
        try (LanguageModel ref = TrainedAdapters.freshModel()) {
            REFERENCE.put(LanguageModel.BASE, score(ref));
            for (String v : TrainedAdapters.VERSIONS) {
                AdapterStore.load(ref, TrainedAdapters.versionDir(v));
                REFERENCE.put(v, score(ref));
                REFERENCE_ANSWER.put(v, answer(ref));
            }
        }
    }

    private static float[][] score(LanguageModel lm) {
        return lm.scoreCandidates(PROBE.prompts(), PROBE.candidates());
    }

    private static float[] answer(LanguageModel lm) {
        return lm.answerLogProb(PROBE.prompts(), PROBE.candidates().stream().mapToLong(c -> c[0]).toArray());
    }

    private static void assertSame(float[][] actual, String version) {
        float[][] want = REFERENCE.get(version);
        for (int i = 0; i < want.length; i++) {
            assertThat(actual[i]).as("%s, prompt %d", version, i).containsExactly(want[i]);
        }
    }

    private static boolean differ(float[][] a, float[][] b) {
        for (int i = 0; i < a.length; i++) {
            if (!Arrays.equals(a[i], b[i])) {
                return true;
            }
        }
        return false;
    }

    /** A model over the trained base with v2 in place and v1, v3 as arms. */
    private static LanguageModel threeAdapters() throws IOException {
        LanguageModel lm = TrainedAdapters.freshModel();
        AdapterStore.load(lm, TrainedAdapters.versionDir("v2"));
        AdapterRegistry registry = new AdapterRegistry(lm, null);
        for (String v : List.of("v1", "v3")) {
            assertThat(registry.install(TrainedAdapters.manifest(v)).verified()).isTrue();
        }
        return lm;
    }

    @Test
    void armsScoreExactlyAsTheirAdaptersDoInPlaceAndDifferFromEachOther() throws IOException {
        assertThat(differ(REFERENCE.get("v1"), REFERENCE.get("v2"))).isTrue();
        assertThat(differ(REFERENCE.get("v1"), REFERENCE.get("v3"))).isTrue();
        assertThat(differ(REFERENCE.get("v2"), REFERENCE.get("v3"))).isTrue();
        try (LanguageModel lm = threeAdapters()) {
            assertThat(lm.loadedAdapters()).containsExactly("v2", "v1", "v3");
            assertSame(score(lm), "v2");
            List<Long> generations = new ArrayList<>();
            for (String v : List.of("v1", "v2", "v3")) {
                lm.withAdapter(v, snap -> {
                    assertThat(snap.version()).isEqualTo(v);
                    assertThat(lm.adapterGeneration()).isEqualTo(snap.generation());
                    generations.add(snap.generation());
                    assertSame(score(lm), v);
                    assertThat(answer(lm)).containsExactly(REFERENCE_ANSWER.get(v));
                    return null;
                });
            }
            assertThat(generations).doesNotHaveDuplicates();
            assertSame(score(lm), "v2");   // outside a pinned body: the in-place adapter again
            // nesting: an in-place body inside an arm's, and back
            lm.withAdapter("v1", outer -> {
                lm.withAdapter(inner -> {
                    assertSame(score(lm), "v2");
                    return null;
                });
                assertSame(score(lm), "v1");
                return null;
            });
            assertThatThrownBy(() -> lm.withAdapter("v9", s -> null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[v2, v1, v3]");
        }
    }

    @Test
    void recommendOnAnArmEqualsRecommendWithThatAdapterInPlace() throws IOException {
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        List<AdaptRec.Query> queries = new ArrayList<>();
        for (long u = 1; u <= 6; u++) {
            long[] s = seqs.get(u);
            queries.add(new AdaptRec.Query(u, Arrays.copyOf(s, s.length - 1), PROBE.candidates().get((int) u)));
        }
        try (LanguageModel lm = threeAdapters(); LanguageModel ref = TrainedAdapters.freshModel()) {
            AdaptRec armed = adaptRec(lm, seqs);
            AdaptRec inPlace = adaptRec(ref, seqs);
            OfflineNeighbourhood hood = neighbourhood(lm, seqs);
            OfflineNeighbourhood refHood = neighbourhood(ref, seqs);
            for (String v : List.of("v1", "v3")) {
                List<AdaptRec.Recommendation> got = armed.recommend(queries, hood, Strategy.ADAPTIVE, 2, Map.of(), v);
                AdapterStore.load(ref, TrainedAdapters.versionDir(v));
                List<AdaptRec.Recommendation> want = inPlace.recommend(queries, refHood, Strategy.ADAPTIVE, 2, Map.of(),
                        null);
                for (int i = 0; i < queries.size(); i++) {
                    assertThat(got.get(i).adapter().version()).isEqualTo(v);
                    assertThat(got.get(i).scores()).as("%s query %d", v, i).containsExactly(want.get(i).scores());
                    assertThat(got.get(i).demonstrations().stream().map(d -> d.member().userId()).toList())
                            .isEqualTo(want.get(i).demonstrations().stream().map(d -> d.member().userId()).toList());
                }
            }
            // the stage-2 cache keeps each arm's rankings under its own generation
            assertThat(armed.selector().cached()).isEqualTo(2L * queries.size());
            armed.select(queries, hood, Strategy.ADAPTIVE, 2, "v1");
            assertThat(armed.selector().cacheStats().hitCount()).isEqualTo(queries.size());
        }
    }

    private static AdaptRec adaptRec(LanguageModel lm, Map<Long, long[]> seqs) {
        return new AdaptRec(lm, new DemoSelector(lm, PromptTemplate.resource(PromptTemplate.SELECTION),
                new DemoSelector.Config(5, 4, 9, 2)), 5);
    }

    private static OfflineNeighbourhood neighbourhood(LanguageModel lm, Map<Long, long[]> seqs) {
        return new OfflineNeighbourhood(new SimilarUsers(seqs, lm.vocabulary(), lm.itemEmbeddings(), 10), seqs, "test");
    }

    @Test
    void armsTakeTheAdapterPathEvenWhenTheInPlaceAdapterNeverWasOn() throws IOException {
        try (LanguageModel lm = TrainedAdapters.freshModel()) {
            assertThat(lm.net().isLoraEnabled()).isFalse();
            assertThat(new AdapterRegistry(lm, null).install(TrainedAdapters.manifest("v1")).verified()).isTrue();
            lm.withAdapter("v1", s -> {
                assertSame(score(lm), "v1");
                return null;
            });
            assertSame(score(lm), LanguageModel.BASE);
            assertThat(lm.net().isLoraEnabled()).isFalse();
        }
    }

    @Test
    void removingAnArmFreesItsArrays() throws IOException {
        try (LanguageModel lm = TrainedAdapters.freshModel()) {
            int before = managedArrays(lm);
            long expected = 0;
            for (Parameter p : lm.parameters(true).values()) {
                expected += p.getArray().size() * Float.BYTES;
            }
            new AdapterRegistry(lm, null).install(TrainedAdapters.manifest("v1"));
            assertThat(lm.adapterBytes("v1")).isEqualTo(expected).isEqualTo(lm.adapterBytes(LanguageModel.BASE));
            assertThat(managedArrays(lm) - before).isEqualTo(lm.parameters(true).size());
            for (int i = 0; i < 5; i++) {   // scoring on the arm leaves nothing behind either
                lm.withAdapter("v1", s -> score(lm));
            }
            assertThat(managedArrays(lm) - before).isEqualTo(lm.parameters(true).size());
            assertThatThrownBy(() -> lm.withAdapter("v1", s -> {
                lm.removeAdapter("v1");
                return null;
            })).isInstanceOf(IllegalStateException.class);
            lm.removeAdapter("v1");
            assertThat(managedArrays(lm)).isEqualTo(before);
            assertThat(lm.loadedAdapters()).containsExactly(LanguageModel.BASE);
            assertThatThrownBy(() -> lm.withAdapter("v1", s -> null)).hasMessageContaining("not loaded");
            assertThatThrownBy(() -> lm.removeAdapter("v1")).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> lm.removeAdapter(LanguageModel.BASE)).hasMessageContaining("in-place");
            assertThatThrownBy(() -> lm.adapterBytes("v1")).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void removalWaitsForTheRequestsPinnedToTheArm() throws Exception {
        try (LanguageModel lm = threeAdapters()) {
            CountDownLatch pinned = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            List<float[][]> seen = new CopyOnWriteArrayList<>();
            Thread request = new Thread(() -> lm.withAdapter("v1", s -> {
                pinned.countDown();
                await(release);
                seen.add(score(lm));   // its arrays are still there
                return null;
            }));
            request.start();
            pinned.await();
            Thread remover = new Thread(() -> lm.removeAdapter("v1"));
            remover.start();
            remover.join(300);
            assertThat(remover.isAlive()).as("removal waits for the pinned request").isTrue();
            assertThatThrownBy(() -> lm.withAdapter("v1", s -> null)).as("no new requests meanwhile")
                    .isInstanceOf(IllegalArgumentException.class);
            release.countDown();
            request.join(10_000);
            remover.join(10_000);
            assertThat(remover.isAlive()).isFalse();
            assertSame(seen.get(0), "v1");
            assertThat(lm.loadedAdapters()).containsExactly("v2", "v3");
        }
    }

    private static void await(CountDownLatch l) {
        try {
            l.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void concurrentRequestsOnArmsStayExactWhileAnotherArmComesAndGoes() throws Exception {
        try (LanguageModel lm = threeAdapters()) {
            AdapterRegistry registry = new AdapterRegistry(lm, null);
            AtomicBoolean stop = new AtomicBoolean();
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            AtomicInteger requests = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (String v : List.of("v1", "v3", "v2")) {   // two arms and the in-place adapter
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            float[][] s = lm.withAdapter(v, snap -> score(lm));
                            assertSame(s, v);
                            requests.incrementAndGet();
                        } catch (Throwable e) {
                            errors.add(e);
                            return;
                        }
                    }
                }, "scorer-" + v);
                threads.add(t);
                t.start();
            }
            AdapterManifest v2 = TrainedAdapters.manifest("v2");
            for (int i = 0; i < 5; i++) {
                String name = "v2-arm" + i;   // v2's weights as a third arm
                assertThat(registry.install(AdapterManifest.newBuilder(v2).setVersion(name).build()).verified()).isTrue();
                assertSame(lm.withAdapter(name, snap -> score(lm)), "v2");
                registry.remove(name);
            }
            stop.set(true);
            for (Thread t : threads) {
                t.join(30_000);
            }
            assertThat(errors).isEmpty();
            assertThat(requests.get()).isGreaterThan(3);
            assertThat(lm.loadedAdapters()).containsExactly("v2", "v1", "v3");
        }
    }

    /**
     * Memory per extra arm and scoring latency with an arm vs in place, on the small config
     * (d=64, 2 layers, rank 8). Opt-in ({@code -Darms.measure=true}): timings need a quiet machine.
     */
    @Test
    void measureArmCost() {
        Assumptions.assumeTrue(Boolean.getBoolean("arms.measure"), "opt-in: -Darms.measure=true");
        RecLMConfig cfg = RecLMConfig.small();
        try (LanguageModel lm = LanguageModel.create(cfg, Fixtures.vocabulary(), 5);
             NDManager m = NDManager.newBaseManager(Device.cpu(), LanguageModel.ENGINE)) {
            m.getEngine().setRandomSeed(3);
            Map<String, NDArray> t = new HashMap<>();
            for (Parameter p : lm.parameters(true).values()) {
                NDArray a = m.randomNormal(0f, p.getName().endsWith("_B") ? 0.05f : 0.2f, p.getArray().getShape(),
                        p.getArray().getDataType());
                t.put(p.getName(), a);
                p.getArray().set(a.toFloatArray());   // the same adapter in place
            }
            lm.net().setLoraEnabled(true);
            lm.addAdapter("arm", t);
            long rss0 = rssKb();
            for (int i = 0; i < 50; i++) {
                lm.addAdapter("extra" + i, t);
            }
            long rssPerArm = (rssKb() - rss0) * 1024 / 50;
            List<long[]> cands = PROBE.candidates();
            for (int i = 0; i < 20; i++) {
                score(lm);
                lm.withAdapter("arm", s -> score(lm));
            }
            int n = 100;
            long[] inPlace = new long[n];
            long[] arm = new long[n];
            for (int i = 0; i < n; i++) {   // interleaved, alternating which goes first
                for (int k = 0; k < 2; k++) {
                    boolean onArm = (i + k) % 2 == 0;
                    long t0 = System.nanoTime();
                    if (onArm) {
                        lm.withAdapter("arm", s -> lm.scoreCandidates(PROBE.prompts(), cands));
                        arm[i] = System.nanoTime() - t0;
                    } else {
                        lm.scoreCandidates(PROBE.prompts(), cands);
                        inPlace[i] = System.nanoTime() - t0;
                    }
                }
            }
            Arrays.sort(inPlace);
            Arrays.sort(arm);
            System.out.printf("ARMS-MEASURE config=%s arm_bytes=%d rss_per_arm_bytes=%d batch=%dx%d "
                            + "inplace_median_ms=%.2f arm_median_ms=%.2f inplace_p90_ms=%.2f arm_p90_ms=%.2f%n",
                    cfg, lm.adapterBytes("arm"), rssPerArm, PROBE.prompts().size(), cands.get(0).length,
                    inPlace[n / 2] / 1e6, arm[n / 2] / 1e6, inPlace[n * 9 / 10] / 1e6, arm[n * 9 / 10] / 1e6);
        }
    }

    static int managedArrays(LanguageModel lm) {
        return ((BaseNDManager) lm.djlModel().getNDManager()).getManagedArrays().size();
    }

    static long rssKb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no VmRSS");
    }
}
