package io.adaptrec.worker.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.avro.RolloutState;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.LatencyHistogram;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.TestKafka;
import io.adaptrec.worker.adapters.Manifests;
import io.adaptrec.worker.model.AdaptRec;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.PromptTemplate;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.rollout.Controller;
import io.adaptrec.worker.rollout.RolloutOps;
import io.adaptrec.worker.rollout.Router;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.Strategy;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Adapters and rollouts on the embedded broker: a worker loads a published adapter only after
 * verifying it, rejects bad ones and keeps serving, swaps adapters under continuous load without a
 * failed request, routes users deterministically during an experiment; the controller starts an
 * experiment for a verified adapter, records rejections, and decides on arm metrics.
 */
class RolloutIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static ServingFixture world;
    private static Path adaptersDir;
    private static Worker worker;
    private static RecClient client;

    @BeforeAll
    static void start() throws Exception {
        world = new ServingFixture();
        adaptersDir = Files.createTempDirectory("rollout-adapters");
        worker = Worker.start(ServingConfig.fromProperties(config("rollout-w1")));
        client = new RecClient(world.topics, client());
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (worker != null) {
            worker.close();
        }
        if (world != null) {
            world.close();
        }
    }

    static Properties config(String instance) {
        Properties p = world.config(instance);
        p.setProperty("adapters.dir", adaptersDir.toString());
        p.setProperty("serving.prewarm.users", "0");
        return p;
    }

    static Properties client() {
        Properties p = new Properties();
        p.put("bootstrap.servers", TestKafka.bootstrapServers());
        return p;
    }

    /** An adapter derived from v1 by perturbing its LoRA B matrices, saved and made publishable. */
    static AdapterManifest adapter(long seed, float scale) throws Exception {
        try (LanguageModel lm = RecLMSystem.loadModel(world.modelDir)) {
            Random rnd = new Random(seed);
            for (Parameter p : lm.parameters(true).values()) {
                NDArray a = p.getArray();
                float[] v = a.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] += (float) rnd.nextGaussian() * scale;
                }
                a.set(v);
            }
            Path staging = Files.createTempDirectory("staging");
            AdapterStore.save(lm, staging, "tmp", Map.of());
            String version = Manifests.contentVersion(Files.readAllBytes(staging.resolve("tmp").resolve(AdapterStore.FILE)));
            AdapterStore.save(lm, adaptersDir, version, Map.of("test", 1.0), "v1");
            return Manifests.forPublication(adaptersDir.resolve(version), 1 << 20, null);
        }
    }

    static Rollout running(String id, String control, String treatment, int pct) {
        return new Rollout(id, List.of(new RolloutArm(Router.CONTROL, control, 100 - pct),
                new RolloutArm(Router.TREATMENT, treatment, pct)), RolloutState.RUNNING, "test", Instant.now(), null);
    }

    static RecommendationRequest request(String id, long user) {
        return RecommendationRequest.newBuilder().setRequestId(id).setUserId(user)
                .setCandidates(Arrays.stream(world.unseen(user, 20)).boxed().toList()).setK(5)
                .setRequestedAt(Instant.now()).setAsOf(null).build();
    }

    @Test
    void badAdaptersAreRejectedWithAReasonAndServingGoesOn() throws Exception {
        String production = worker.router().production();
        AdapterManifest good = adapter(11, 0.3f);
        byte[] weights = Manifests.weights(good, adaptersDir);
        // a flipped byte with the old checksum; NaN with a matching checksum; another base
        byte[] flipped = weights.clone();
        flipped[flipped.length - 3] ^= 0x5a;
        AdapterManifest corrupted = AdapterManifest.newBuilder(good).setVersion("bad-checksum")
                .setPayload(ByteBuffer.wrap(flipped)).setLocation(null).build();
        AdapterManifest wrongBase = AdapterManifest.newBuilder(good).setVersion("bad-base").setBaseModel("reclm-other")
                .setPayload(ByteBuffer.wrap(weights)).setLocation(null).build();
        byte[] truncated = Arrays.copyOf(weights, weights.length / 2);
        AdapterManifest cut = AdapterManifest.newBuilder(good).setVersion("bad-truncated")
                .setPayload(ByteBuffer.wrap(truncated)).setLocation(null).setSizeBytes(truncated.length)
                .setSha256(AdapterStore.sha256(truncated)).build();
        for (AdapterManifest m : List.of(corrupted, wrongBase, cut)) {
            world.send(world.topics.adapters(), m.getVersion(), m);
            world.send(world.topics.rollouts(), "exp-" + m.getVersion(), running("exp-" + m.getVersion(), "v1", m.getVersion(), 50));
            world.flush();
            await().atMost(WAIT).until(() -> worker.rejectedAdapters().containsKey(m.getVersion()));
            // end it so the next one can run
            world.send(world.topics.rollouts(), "exp-" + m.getVersion(), Rollout.newBuilder(running("exp-" + m.getVersion(),
                    "v1", m.getVersion(), 50)).setState(RolloutState.ABORTED).setUpdatedAt(Instant.now()).build());
            world.flush();
        }
        assertThat(worker.rejectedAdapters().get("bad-checksum")).containsIgnoringCase("sha256");
        assertThat(worker.rejectedAdapters().get("bad-base")).contains("reclm-other");
        assertThat(worker.model().loadedAdapters()).doesNotContain("bad-checksum", "bad-base", "bad-truncated");
        for (long u = 1; u <= 10; u++) {
            RecommendationResponse r = client.send(request("after-bad-" + u, u)).get(30, TimeUnit.SECONDS);
            assertThat(r.getStatus()).as(r.getError()).isEqualTo(ResponseStatus.OK);
            assertThat(r.getAdapterVersion()).isEqualTo(production);
            assertThat(r.getExperimentId()).isNull();
        }
        List<DeadLetter> dead = new ArrayList<>();
        TopicScan.toEnd(client(), world.topics.deadLetter().name(), WAIT, rec -> dead.add(
                world.topics.deadLetter().valueSerde().deserializer().deserialize(rec.topic(), rec.value())));
        assertThat(dead).filteredOn(d -> d.getTopic().equals(world.topics.adapters().name()))
                .extracting(DeadLetter::getError).anySatisfy(e -> assertThat(e).contains("bad-checksum").contains("CHECKSUM"))
                .anySatisfy(e -> assertThat(e).contains("bad-base").contains("BASE_MODEL"))
                .anySatisfy(e -> assertThat(e).contains("bad-truncated").contains("DECODE"));
    }

    @Test
    void hotSwapUnderContinuousLoadFailsNoRequestAndServesTheNewAdaptersScores() throws Exception {
        AdapterManifest fresh = adapter(23, 0.5f);
        List<RecommendationResponse> seen = new CopyOnWriteArrayList<>();
        AtomicBoolean go = new AtomicBoolean(true);
        Thread load = new Thread(() -> {
            int n = 0;
            List<java.util.concurrent.CompletableFuture<RecommendationResponse>> inflight = new ArrayList<>();
            while (go.get()) {
                long u = 1 + n % ServingFixture.USERS;
                inflight.add(client.send(request("swap-" + n++, u)).whenComplete((r, e) -> {
                    if (r != null) {
                        seen.add(r);
                    }
                }));
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
            inflight.forEach(f -> f.orTimeout(60, TimeUnit.SECONDS).join());
        }, "load");
        load.start();
        String exp = "exp-swap-" + fresh.getVersion();
        Thread.sleep(1000);
        world.send(world.topics.adapters(), fresh.getVersion(), fresh);
        world.send(world.topics.rollouts(), exp, running(exp, "v1", fresh.getVersion(), 50));
        world.flush();
        await().atMost(WAIT).until(() -> seen.stream().anyMatch(r -> fresh.getVersion().equals(r.getAdapterVersion())));
        Thread.sleep(1500);
        Rollout promoted = Rollout.newBuilder(running(exp, "v1", fresh.getVersion(), 50)).setState(RolloutState.PROMOTED)
                .setArms(List.of(new RolloutArm(Router.CONTROL, "v1", 0), new RolloutArm(Router.TREATMENT, fresh.getVersion(), 100)))
                .setUpdatedAt(Instant.now()).build();
        world.send(world.topics.rollouts(), exp, promoted);
        world.flush();
        long promotedAt = System.currentTimeMillis();
        await().atMost(WAIT).until(() -> seen.stream().filter(r -> r.getRespondedAt().toEpochMilli() > promotedAt + 2000)
                .count() > 2L * ServingFixture.USERS);
        go.set(false);
        load.join(90_000);

        assertThat(seen).isNotEmpty().allSatisfy(r -> assertThat(r.getStatus()).as(r.getError()).isEqualTo(ResponseStatus.OK));
        // during the experiment: one arm per user, the arm's adapter, shares near the split
        Map<Long, String> armOf = new HashMap<>();
        for (RecommendationResponse r : seen) {
            if (exp.equals(r.getExperimentId())) {
                String before = armOf.putIfAbsent(r.getUserId(), r.getArm());
                assertThat(before == null || before.equals(r.getArm())).as("user %d switched arms", r.getUserId()).isTrue();
                assertThat(r.getAdapterVersion()).isEqualTo(r.getArm().equals(Router.TREATMENT) ? fresh.getVersion() : "v1");
            }
        }
        assertThat(armOf.values()).contains(Router.CONTROL, Router.TREATMENT);
        // after the promotion: everyone on the new adapter, with exactly the scores it gives installed in place
        List<RecommendationResponse> after = seen.stream()
                .filter(r -> r.getRespondedAt().toEpochMilli() > promotedAt + 2000).toList();
        assertThat(after).allSatisfy(r -> {
            assertThat(r.getAdapterVersion()).isEqualTo(fresh.getVersion());
            assertThat(r.getExperimentId()).isNull();
        });
        try (LanguageModel ref = RecLMSystem.loadModel(world.modelDir)) {
            AdapterStore.install(ref, fresh, Manifests.weights(fresh, adaptersDir));
            DemoSelector sel = new DemoSelector(ref, PromptTemplate.resource(PromptTemplate.SELECTION),
                    new DemoSelector.Config(10, DemoSelector.Config.defaults().demoLen(),
                            DemoSelector.Config.defaults().negatives(), 3), 1000);
            AdaptRec core = new AdaptRec(ref, sel, 10);
            for (RecommendationResponse r : after.subList(0, 10)) {
                long u = r.getUserId();
                AdaptRec.Recommendation rec = core.recommend(List.of(new AdaptRec.Query(u, worker.mirror().history(u).items(),
                        world.unseen(u, 20))), new LiveNeighbourhood(worker.mirror()), Strategy.ADAPTIVE, 3).get(0);
                var top = rec.ranked().subList(0, 5);
                // The worker scored this request inside a batch of up to serving.batch.max padded prompts, the
                // reference scores it alone: float32 matrix products of other shapes round differently (seen:
                // 3.9e-4 on a log-likelihood of -2.39), so the scores agree to 1e-3 relative, not bit for bit, and two
                // items whose reference scores tie within that may come in either order.
                Map<Long, Float> refScore = new HashMap<>();
                rec.ranked().forEach(s -> refScore.put(s.itemId(), s.score()));
                for (int i = 0; i < 5; i++) {
                    long served = r.getItems().get(i).getItemId();
                    float want = top.get(i).score();
                    org.assertj.core.data.Offset<Float> tol = org.assertj.core.data.Offset.offset(Math.max(1e-4f, 1e-3f * Math.abs(want)));
                    assertThat(refScore).as("served item %d at rank %d", served, i).containsKey(served);
                    assertThat(refScore.get(served)).as("reference score of the item served at rank %d", i).isCloseTo(want, tol);
                    assertThat(r.getItems().get(i).getScore()).isCloseTo(want, tol);
                }
            }
        }
        assertThat(worker.router().production()).isEqualTo(fresh.getVersion());
        // v1 stays loaded in place; the promoted adapter is an arm
        assertThat(worker.model().loadedAdapters()).contains(fresh.getVersion());
    }

    @Test
    void theControllerStartsAnExperimentForAVerifiedAdapterAndPromotesAClearlyBetterOne() throws Exception {
        Properties p = config("rollout-controller");
        p.setProperty("rollout.controller.id", world.topics.prefix() + "controller");
        p.setProperty("rollout.decide.interval.ms", "200");
        p.setProperty("rollout.min-samples", "100");
        p.setProperty("rollout.canary.percent", "20");
        Topics t = world.topics;
        try (Controller controller = Controller.start(ServingConfig.fromProperties(p))) {
            String production = controller.production();
            AdapterManifest fresh = adapter(37, 0.4f);
            // an identity adapter (all zero) is rejected by the probe and recorded as an aborted experiment
            AdapterManifest zero = zeroAdapter();
            long publishedAt = System.currentTimeMillis();
            world.send(t.adapters(), zero.getVersion(), zero);
            world.send(t.adapters(), fresh.getVersion(), fresh);
            world.flush();
            String exp = "exp-" + fresh.getVersion();
            await().atMost(WAIT).until(() -> worker.router().experiment() != null
                    && worker.router().experiment().getExperimentId().equals(exp));
            long toServing = System.currentTimeMillis() - publishedAt;
            System.out.printf("publish -> experiment routed on the worker: %d ms%n", toServing);
            assertThat(toServing).isLessThan(60_000);
            assertThat(worker.router().experiment().getArms()).extracting(RolloutArm::getTrafficPercent).containsExactly(80, 20);

            // outcomes: the treatment is clearly better
            Instant w0 = Instant.now();
            LatencyHistogram h = new LatencyHistogram();
            for (int i = 0; i < 1000; i++) {
                h.record(2_000 + i);
            }
            world.send(t.experimentMetrics(), Topics.armKey(exp, Router.CONTROL), metrics(exp, Router.CONTROL, production,
                    w0, 1000, 300, h));
            world.send(t.experimentMetrics(), Topics.armKey(exp, Router.TREATMENT), metrics(exp, Router.TREATMENT,
                    fresh.getVersion(), w0, 1000, 450, h));
            world.flush();
            await().atMost(WAIT).until(() -> controller.decisions().stream()
                    .anyMatch(d -> d.getExperimentId().equals(exp) && d.getAction() == RolloutAction.PROMOTE));
            await().atMost(WAIT).until(() -> worker.router().production().equals(fresh.getVersion()));

            List<RolloutOps.Status> status = RolloutOps.status(client(), t);
            RolloutOps.Status s = status.stream().filter(x -> x.rollout().getExperimentId().equals(exp)).findFirst().orElseThrow();
            assertThat(s.rollout().getState()).isEqualTo(RolloutState.PROMOTED);
            RolloutDecision d = s.rollout().getDecision();
            assertThat(d.getActor()).isEqualTo(Controller.ACTOR);
            assertThat(d.getStatistic()).isGreaterThanOrEqualTo(d.getBoundary());
            assertThat(d.getSamplesControl()).isEqualTo(1000);
            assertThat(d.getEffect()).isCloseTo(0.15, org.assertj.core.data.Offset.offset(1e-9));
            assertThat(s.log()).extracting(RolloutDecision::getAction).containsSubsequence(RolloutAction.START, RolloutAction.PROMOTE);
            RolloutOps.Status z = status.stream().filter(x -> x.rollout().getExperimentId().equals("exp-" + zero.getVersion()))
                    .findFirst().orElseThrow();
            assertThat(z.rollout().getState()).isEqualTo(RolloutState.ABORTED);
            assertThat(z.rollout().getReason()).contains("PROBE");
        }
    }

    @Test
    void aPersonPausesResumesAndRollsBackAnExperimentAndEveryOverrideIsRecordedWithWhoAndWhy() throws Exception {
        AdapterManifest fresh = adapter(51, 0.2f);
        String exp = "exp-ops-" + fresh.getVersion();
        String production = worker.router().production();
        Topics t = world.topics;
        world.send(t.adapters(), fresh.getVersion(), fresh);
        world.send(t.rollouts(), exp, running(exp, production, fresh.getVersion(), 30));
        world.flush();
        await().atMost(WAIT).until(() -> worker.router().experiment() != null
                && worker.router().experiment().getExperimentId().equals(exp));

        Rollout paused = RolloutOps.override(client(), t, exp, RolloutAction.PAUSE, "alice@ops", "checking a dashboard");
        assertThat(paused.getState()).isEqualTo(RolloutState.PAUSED);
        await().atMost(WAIT).until(() -> worker.router().experiment() == null);   // paused: everyone on production
        assertThat(worker.router().production()).isEqualTo(production);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RolloutOps.override(client(), t, exp,
                RolloutAction.PAUSE, "alice@ops", "again")).hasMessageContaining("cannot pause an experiment that is PAUSED");

        RolloutOps.override(client(), t, exp, RolloutAction.RESUME, "alice@ops", "dashboard fine");
        await().atMost(WAIT).until(() -> worker.router().experiment() != null);
        Rollout back = RolloutOps.override(client(), t, exp, RolloutAction.ROLLBACK, "bob@ops", "complaints");
        assertThat(back.getState()).isEqualTo(RolloutState.ROLLED_BACK);
        assertThat(back.getArms()).extracting(RolloutArm::getTrafficPercent).containsExactly(100, 0);
        await().atMost(WAIT).until(() -> worker.router().experiment() == null);
        assertThat(worker.router().production()).isEqualTo(production);

        RolloutOps.Status s = RolloutOps.status(client(), t).stream()
                .filter(x -> x.rollout().getExperimentId().equals(exp)).findFirst().orElseThrow();
        assertThat(s.log()).extracting(RolloutDecision::getAction)
                .containsExactly(RolloutAction.PAUSE, RolloutAction.RESUME, RolloutAction.ROLLBACK);
        assertThat(s.log()).extracting(RolloutDecision::getActor).containsExactly("alice@ops", "alice@ops", "bob@ops");
        assertThat(s.log().get(2).getReason()).isEqualTo("override by bob@ops: complaints");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RolloutOps.override(client(), t, "exp-nope",
                RolloutAction.PROMOTE, "x", "y")).hasMessageContaining("no experiment 'exp-nope'");
    }

    /** A zero adapter (B = 0: identical to the base), published with a valid checksum. */
    static AdapterManifest zeroAdapter() throws Exception {
        try (LanguageModel lm = RecLMSystem.loadModel(world.modelDir)) {
            AdapterStore.reset(lm);
            AdapterStore.save(lm, adaptersDir, "zero", Map.of(), "v1");
            return Manifests.forPublication(adaptersDir.resolve("zero"), 1 << 20, null);
        }
    }

    static ArmMetrics metrics(String exp, String arm, String adapter, Instant start, long n, long hits, LatencyHistogram h) {
        return ArmMetrics.newBuilder().setExperimentId(exp).setArm(arm).setAdapterVersion(adapter).setWindowStart(start)
                .setWindowEnd(start.plusSeconds(60)).setServed(n).setErrors(0).setOutcomes(n).setHitsAt1(hits)
                .setHitsAt5(Math.min(n, hits * 2)).setNdcgSum(hits).setLatencyMicrosSum(0)
                .setLatencyBoundsMicros(h.boundsList()).setLatencyCounts(h.countsList())
                .setUpdatedAt(Instant.now()).build();
    }
}
