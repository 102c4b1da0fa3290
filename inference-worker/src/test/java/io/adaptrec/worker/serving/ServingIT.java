package io.adaptrec.worker.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.testkit.TestKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The worker on the embedded broker and registry, fed user-state, pools, interactions and items
 * as Streams and the pools job would write them: every request gets exactly one response of the
 * expected shape, for good requests, cold starts, new items, invalid and undecodable input and
 * late requests; readiness waits for the mirror; deletes reach the pools the worker reads.
 */
class ServingIT {

    private static ServingFixture world;
    private static Worker worker;
    private static RecClient client;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final java.util.Set<Long> DELETED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @BeforeAll
    static void start() throws Exception {
        world = new ServingFixture();
        worker = Worker.start(ServingConfig.fromProperties(world.config("it-1")));
        client = new RecClient(world.topics, clientProps());
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

    static Properties clientProps() {
        Properties p = new Properties();
        p.put("bootstrap.servers", TestKafka.bootstrapServers());
        return p;
    }

    private static List<Long> list(long[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    @Test
    void readyOnlyAfterTheMirrorHoldsEveryUserAndPool() throws Exception {
        assertThat(worker.notReadyReason()).isNull();
        assertThat(worker.mirror().users()).isEqualTo(ServingFixture.USERS);
        // warmed before taking traffic: every mirrored user's stage-2 selection is in the cache
        assertThat(worker.selectionsCached()).isGreaterThanOrEqualTo(ServingFixture.USERS);
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> ready = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + worker.httpPort() + "/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ready.statusCode()).isEqualTo(200);
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + worker.httpPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.body()).contains("adaptrec_worker_state_users").contains("adaptrec_worker_selection_cache_hit_rate");
    }

    @Test
    void everyRequestWithCandidatesGetsExactlyOneAdaptRecResponse() throws Exception {
        Map<String, Long> sent = new HashMap<>();
        List<CompletableFuture<RecommendationResponse>> futures = new ArrayList<>();
        for (long u = 1; u <= 30; u++) {
            RecommendationRequest r = RecommendationRequest.newBuilder().setRequestId("ok-" + u).setUserId(u)
                    .setCandidates(list(world.unseen(u, 20))).setK(5).setRequestedAt(Instant.now()).setAsOf(null).build();
            sent.put(r.getRequestId(), u);
            futures.add(client.send(r));
        }
        for (CompletableFuture<RecommendationResponse> f : futures) {
            RecommendationResponse r = f.get(30, TimeUnit.SECONDS);
            long u = sent.get(r.getRequestId());
            assertThat(r.getUserId()).isEqualTo(u);
            assertThat(r.getStatus()).as(r.getError()).isEqualTo(ResponseStatus.OK);
            assertThat(r.getPath()).isEqualTo("adaptrec");
            assertThat(r.getItems()).hasSize(5);
            assertThat(r.getItems()).extracting(ScoredItem::getItemId).isSubsetOf(list(world.unseen(u, 20)));
            assertThat(r.getItems()).extracting(ScoredItem::getScore).isSortedAccordingTo((a, b) -> Float.compare(b, a));
            assertThat(r.getAdapterVersion()).isEqualTo("v1");
            assertThat(r.getPoolVersion()).isEqualTo(1);
            assertThat(r.getPoolEmbeddingVersion()).isEqualTo("test-space");
            assertThat(r.getSelected()).hasSizeBetween(1, 3);
            assertThat(r.getSelected()).extracting(s -> s.getUserId()).containsExactlyElementsOf(r.getDemonstrations());
            assertThat(r.getDemonstrations()).isSubsetOf(list(world.pools.get(u))).doesNotContain(u);
            assertThat(r.getCandidatesGenerated()).isFalse();
        }
        assertThat(client.duplicates()).isZero();
    }

    @Test
    void withoutCandidatesTheWorkerGeneratesUnseenOnes() throws Exception {
        RecommendationResponse r = client.recommend(7, 10, null, WAIT);
        assertThat(r.getStatus()).as(r.getError()).isEqualTo(ResponseStatus.OK);
        assertThat(r.getCandidatesGenerated()).isTrue();
        assertThat(r.getItems()).hasSize(10);
        assertThat(r.getItems()).extracting(ScoredItem::getItemId).doesNotContainAnyElementsOf(list(world.histories.get(7L)));
    }

    @Test
    void asOfHidesLaterInteractionsFromTheTargetAndTheCandidates() throws Exception {
        long u = 9;
        long[] h = world.histories.get(u);
        long[] t = world.times.get(u);
        long asOf = t[h.length - 1];   // just before the user's last interaction
        RecommendationRequest req = RecommendationRequest.newBuilder().setRequestId("asof-1").setUserId(u)
                .setCandidates(null).setK(ServingFixture.ITEMS).setRequestedAt(Instant.now())
                .setAsOf(Instant.ofEpochMilli(asOf)).build();
        RecommendationResponse r = client.send(req).get(30, TimeUnit.SECONDS);
        assertThat(r.getStatus()).as(r.getError()).isIn(ResponseStatus.OK, ResponseStatus.FALLBACK);
        assertThat(r.getCandidatesGenerated()).isTrue();
        // nothing the user had interacted with before asOf is ever a candidate
        List<Long> before = new ArrayList<>();
        for (int i = 0; i < h.length; i++) {
            if (t[i] < asOf) {
                before.add(h[i]);
            }
        }
        assertThat(before).isNotEmpty();
        assertThat(r.getItems()).isNotEmpty();
        assertThat(r.getItems()).extracting(ScoredItem::getItemId).doesNotContainAnyElementsOf(before);
    }

    @Test
    void unknownUsersAreColdStartsAnsweredFromPopularity() throws Exception {
        RecommendationResponse r = client.recommend(999_999, 5, null, WAIT);
        assertThat(r.getStatus()).isEqualTo(ResponseStatus.FALLBACK);
        assertThat(r.getPath()).isEqualTo("popular");
        assertThat(r.getItems()).hasSize(5);
        RecommendationResponse withCands = client.recommend(999_998, 3, list(world.unseen(1, 20)), WAIT);
        assertThat(withCands.getPath()).isEqualTo("popular");
        assertThat(withCands.getItems()).hasSize(3);
    }

    @Test
    void invalidRequestsGetAReasonNotASilence() throws Exception {
        assertThat(client.recommend(1, 0, null, WAIT)).satisfies(r -> {
            assertThat(r.getStatus()).isEqualTo(ResponseStatus.INVALID_REQUEST);
            assertThat(r.getError()).contains("k must be in");
        });
        assertThat(client.recommend(1, 3, List.of(1L, 2L, 1L), WAIT).getError()).contains("candidate 1 appears more than once");
        assertThat(client.recommend(1, 3, List.of(1L, 123_456L), WAIT).getError()).contains("unknown candidate items [123456]");
        assertThat(client.recommend(1, 3, List.of(), WAIT).getError()).contains("empty");
        List<Long> tooMany = new ArrayList<>();
        for (long i = 0; i < 501; i++) {
            tooMany.add(i);
        }
        assertThat(client.recommend(1, 3, tooMany, WAIT).getError()).contains("at most 500");
    }

    @Test
    void aRequestReadAfterItsDeadlineIsAnsweredWithTimeout() throws Exception {
        RecommendationRequest old = RecommendationRequest.newBuilder().setRequestId("late-1").setUserId(3)
                .setCandidates(null).setK(3).setRequestedAt(Instant.now().minusSeconds(3600)).setAsOf(null).build();
        RecommendationResponse r = client.send(old).get(30, TimeUnit.SECONDS);
        assertThat(r.getStatus()).isEqualTo(ResponseStatus.TIMEOUT);
        assertThat(r.getError()).contains("deadline");
    }

    @Test
    void itemsNewerThanTheModelAreScoredThroughTheirWords() throws Exception {
        String title = world.data.items().get(0).title();   // words the vocabulary knows
        world.send(world.topics.items(), 5_000L, new Item(5_000L, title + " returns", List.of("Drama"), Map.of(), Instant.now()));
        world.flush();
        await().atMost(WAIT).until(() -> worker.mirror().item(5_000L) != null);
        List<Long> cands = new ArrayList<>(list(world.unseen(2, 19)));
        cands.add(5_000L);
        RecommendationResponse r = client.recommend(2, 20, cands, WAIT);
        assertThat(r.getStatus()).as(r.getError()).isEqualTo(ResponseStatus.OK);
        assertThat(r.getItems()).extracting(ScoredItem::getItemId).contains(5_000L);
        assertThat(r.getItems()).allMatch(s -> Float.isFinite(s.getScore()));
    }

    @Test
    void undecodableRequestsGoToTheDeadLetterTopicAndGetAnErrorWhenTheirIdIsReadable() throws Exception {
        String t = world.topics.recRequests().name();
        byte[] key = world.topics.recRequests().keySerde().serializer().serialize(t, 4L);
        RecommendationRequest good = RecommendationRequest.newBuilder().setRequestId("broken-1").setUserId(4)
                .setCandidates(null).setK(3).setRequestedAt(Instant.now()).setAsOf(null).build();
        byte[] bytes = world.topics.recRequests().valueSerde().serializer().serialize(t, good);
        byte[] truncated = Arrays.copyOf(bytes, 5 + 1 + "broken-1".length() + 1);   // id readable, rest cut
        world.sendRaw(t, key, truncated);
        world.sendRaw(t, key, "not avro at all".getBytes());
        world.flush();
        List<DeadLetter> dead = readAll(world.topics.deadLetter().name(), 2);
        assertThat(dead).extracting(DeadLetter::getTopic).containsOnly(t);
        assertThat(dead).allMatch(d -> d.getError().startsWith("undecodable request"));
        await().atMost(WAIT).until(() -> responses().stream().anyMatch(r -> r.getRequestId().equals("broken-1")));
        RecommendationResponse r = responses().stream().filter(x -> x.getRequestId().equals("broken-1")).findFirst().orElseThrow();
        assertThat(r.getStatus()).isEqualTo(ResponseStatus.ERROR);
        assertThat(r.getError()).startsWith("undecodable request");
    }

    @Test
    void aDeletedUserLeavesThePoolsTheWorkerReadsAndBecomesAColdStart() throws Exception {
        long victim = world.pools.get(11L)[0];
        DELETED.add(victim);
        world.send(world.topics.userState(), victim, null);
        world.flush();
        await().atMost(WAIT).until(() -> worker.mirror().history(victim) == null);
        RecommendationResponse gone = client.recommend(victim, 3, null, WAIT);
        assertThat(gone.getPath()).isEqualTo("popular");
        RecommendationResponse r = client.recommend(11, 5, list(world.unseen(11, 20)), WAIT);
        assertThat(r.getDemonstrations()).doesNotContain(victim);
        world.send(world.topics.userState(), victim, world.state(victim));   // restore for other tests
        world.flush();
        await().atMost(WAIT).until(() -> worker.mirror().history(victim) != null);
    }

    @Test
    void theDiskStoreMirrorsExactlyWhatTheHeapStoreMirrors() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("mirror-rocksdb");
        try (StateMirror disk = new StateMirror(world.topics, clientProps(), 86_400_000.0, UserStore.rocksDb(dir)).start()) {
            assertThat(disk.awaitReady(WAIT)).isTrue();
            StateMirror heap = worker.mirror();
            assertThat(disk.users()).isEqualTo(heap.users());
            for (long u = 1; u <= ServingFixture.USERS; u++) {
                assertThat(disk.history(u).items()).isEqualTo(heap.history(u).items());
                assertThat(disk.history(u).times()).isEqualTo(heap.history(u).times());
                assertThat(disk.pool(u).members()).isEqualTo(heap.pool(u).members());
                assertThat(disk.pool(u).version()).isEqualTo(heap.pool(u).version());
                if (DELETED.contains(u)) {
                    // A deleted user's seen set goes with the tombstone, but the interactions are still
                    // retained: a mirror that reads them after the tombstone rebuilds it. Order across
                    // two topics is not defined, so this user's seen set may differ between the mirrors.
                    continue;
                }
                for (long item : world.histories.get(u)) {
                    assertThat(disk.seen(u, item, Long.MAX_VALUE)).isTrue();
                }
                for (long item : world.unseen(u, 5)) {
                    assertThat(disk.seen(u, item, Long.MAX_VALUE)).isFalse();
                }
            }
        }
    }

    private static List<RecommendationResponse> responses() {
        List<RecommendationResponse> out = new ArrayList<>();
        String t = world.topics.recResponses().name();
        for (byte[] v : readValues(t, Duration.ofSeconds(2))) {
            out.add(world.topics.recResponses().valueSerde().deserializer().deserialize(t, v));
        }
        return out;
    }

    private static List<DeadLetter> readAll(String topic, int atLeast) {
        List<DeadLetter> out = new ArrayList<>();
        await().atMost(WAIT).until(() -> {
            out.clear();
            for (byte[] v : readValues(topic, Duration.ofSeconds(1))) {
                out.add(world.topics.deadLetter().valueSerde().deserializer().deserialize(topic, v));
            }
            return out.size() >= atLeast;
        });
        return out;
    }

    static List<byte[]> readValues(String topic, Duration wait) {
        List<byte[]> out = new ArrayList<>();
        TopicScan.toEnd(clientProps(), topic, wait, r -> out.add(r.value()));
        return out;
    }
}
