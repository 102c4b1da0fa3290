package io.adaptrec.worker.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.worker.adapters.Verification.Reason;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.Fixtures;
import io.adaptrec.worker.model.LanguageModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterVerifierTest {

    @TempDir
    Path tmp;

    private static Verification verify(AdapterManifest m, byte[] weights) throws IOException {
        try (LanguageModel lm = TrainedAdapters.freshModel()) {
            return Verifier.verify(lm, m, weights);
        }
    }

    @Test
    void aTrainedAdapterIsVerifiedWithItsProbeDifference() throws IOException {
        Verification v = verify(TrainedAdapters.manifest("v1"), TrainedAdapters.weights("v1"));
        assertThat(v.verified()).as(v.toString()).isTrue();
        assertThat(v.reason()).isNull();
        assertThat(v.probeDifference()).isGreaterThan(Verifier.PROBE_EPSILON).isFinite();
    }

    @Test
    void aCorruptedByteIsAChecksumRejection() throws IOException {
        byte[] w = TrainedAdapters.weights("v1");
        w[w.length - 3] ^= 0x10;
        Verification v = verify(TrainedAdapters.manifest("v1"), w);
        assertThat(v.reason()).isEqualTo(Reason.CHECKSUM);
        assertThat(v.message()).contains("sha256");
    }

    @Test
    void aSizeOtherThanTheManifestsIsAChecksumRejection() throws IOException {
        byte[] w = TrainedAdapters.weights("v1");
        AdapterManifest m = AdapterManifest.newBuilder(TrainedAdapters.manifest("v1")).setSizeBytes(w.length + 1).build();
        assertThat(verify(m, w).reason()).isEqualTo(Reason.CHECKSUM);
    }

    @Test
    void truncatedWeightsWithAMatchingChecksumAreADecodeRejectionNotACrash() throws IOException {
        byte[] w = TrainedAdapters.weights("v1");
        for (int len : new int[] {0, 5, 12, 200, w.length / 2, w.length - 1}) {
            byte[] cut = Arrays.copyOf(w, len);
            Verification v = verify(TrainedAdapters.matching(TrainedAdapters.manifest("v1"), cut), cut);
            assertThat(v.reason()).as("truncated to %d of %d bytes: %s", len, w.length, v).isEqualTo(Reason.DECODE);
        }
        byte[] hostile = w.clone();   // a header length far beyond the file must not allocate it
        ByteBuffer.wrap(hostile).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE / 2);
        assertThat(verify(TrainedAdapters.matching(TrainedAdapters.manifest("v1"), hostile), hostile).reason())
                .isEqualTo(Reason.DECODE);
    }

    @Test
    void tensorsOfAnotherRankAreAShapeRejection() throws IOException {
        // rank 8 tensors under a manifest that claims the model's rank 4 (and lists no shapes)
        byte[] w = TrainedAdapters.rewrite(TrainedAdapters.weights("v1"), a -> a.getName().endsWith("_A")
                ? a.getManager().ones(new ai.djl.ndarray.types.Shape(8, a.getShape().get(1)))
                : a.getManager().ones(new ai.djl.ndarray.types.Shape(a.getShape().get(0), 8)));
        AdapterManifest m = AdapterManifest.newBuilder(TrainedAdapters.matching(TrainedAdapters.manifest("v1"), w))
                .setShapes(java.util.Map.of()).build();
        Verification v = verify(m, w);
        assertThat(v.reason()).as(v.toString()).isEqualTo(Reason.SHAPE);
        assertThat(v.message()).contains("lora").contains("expects");

        // the manifest's own shapes disagreeing with the model is caught before decoding
        AdapterManifest listed = AdapterManifest.newBuilder(TrainedAdapters.manifest("v1"))
                .setShapes(java.util.Map.of("l0_q_lora_A", List.of(8L, 16L))).build();
        assertThat(verify(listed, TrainedAdapters.weights("v1")).reason()).isEqualTo(Reason.SHAPE);
    }

    @Test
    void aManifestRankOrAlphaOtherThanTheBasesIsARankRejection() throws IOException {
        AdapterManifest m = AdapterManifest.newBuilder(TrainedAdapters.manifest("v1")).setRank(8).build();
        assertThat(verify(m, TrainedAdapters.weights("v1")).reason()).isEqualTo(Reason.RANK);
        AdapterManifest a = AdapterManifest.newBuilder(TrainedAdapters.manifest("v1")).setAlpha(2f).build();
        assertThat(verify(a, TrainedAdapters.weights("v1")).reason()).isEqualTo(Reason.RANK);
    }

    @Test
    void anAdapterForAnotherBaseIsABaseModelRejection() throws IOException {
        // a base initialised from another seed: same architecture, other weights, so another id
        try (LanguageModel other = LanguageModel.create(Fixtures.tinyConfig(), Fixtures.vocabulary(), 99)) {
            Verification v = Verifier.verify(other, TrainedAdapters.manifest("v1"), TrainedAdapters.weights("v1"));
            assertThat(v.reason()).isEqualTo(Reason.BASE_MODEL);
            assertThat(v.message()).contains(AdapterStore.baseModelId(other));
        }
    }

    @Test
    void nanOrInfinityInsideWithAMatchingChecksumIsANotFiniteRejection() throws IOException {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            byte[] w = TrainedAdapters.rewrite(TrainedAdapters.weights("v1"), a -> {
                if (!a.getName().equals("l0_v_lora_B")) {
                    return a;
                }
                float[] x = a.toFloatArray();
                x[x.length / 2] = bad;
                return a.getManager().create(x, a.getShape());
            });
            Verification v = verify(TrainedAdapters.matching(TrainedAdapters.manifest("v1"), w), w);
            assertThat(v.reason()).as(v.toString()).isEqualTo(Reason.NOT_FINITE);
            assertThat(v.message()).contains("l0_v_lora_B");
        }
    }

    @Test
    void anAllZeroAdapterIsTheBaseItselfAndAProbeRejection() throws IOException {
        byte[] w = TrainedAdapters.rewrite(TrainedAdapters.weights("v1"),
                a -> a.getName().endsWith("_B") ? a.zerosLike() : a);
        AdapterManifest m = TrainedAdapters.matching(TrainedAdapters.manifest("v1"), w);
        Verification v = verify(m, w);
        assertThat(v.reason()).as(v.toString()).isEqualTo(Reason.PROBE);
        assertThat(v.probeDifference()).isZero();
        try (LanguageModel lm = TrainedAdapters.freshModel()) {   // a model directory may carry it
            assertThat(Verifier.verify(lm, m, w, false).verified()).isTrue();
        }
    }

    @Test
    void theRegistryLoadsOnlyVerifiedAdapters() throws IOException {
        try (LanguageModel lm = TrainedAdapters.freshModel()) {
            AdapterRegistry registry = new AdapterRegistry(lm, TrainedAdapters.adapters(TrainedAdapters.dir()));
            byte[] bad = TrainedAdapters.weights("v2");
            bad[100] ^= 1;
            assertThat(registry.install(TrainedAdapters.manifest("v2"), bad).reason()).isEqualTo(Reason.CHECKSUM);
            assertThat(registry.loaded()).containsExactly(LanguageModel.BASE);
            assertThat(registry.install(TrainedAdapters.manifest("v1")).verified()).isTrue();
            assertThat(registry.install(TrainedAdapters.manifest("v1")).verified()).as("replayed").isTrue();
            assertThat(registry.loaded()).containsExactly(LanguageModel.BASE, "v1");
            AdapterManifest other = AdapterManifest.newBuilder(TrainedAdapters.manifest("v2")).setVersion("v1").build();
            assertThatThrownBy(() -> registry.install(other)).hasMessageContaining("already loaded");
        }
    }

    @Test
    void theStoreLoadsThroughTheVerifier() throws IOException {
        Path vdir = tmp.resolve("v1");
        copyDir(TrainedAdapters.versionDir("v1"), vdir);
        Path file = vdir.resolve(AdapterStore.FILE);
        byte[] w = Files.readAllBytes(file);
        Files.write(file, TrainedAdapters.rewrite(w, a -> a.getName().endsWith("_B") ? a.mul(Float.NaN) : a));
        try (LanguageModel lm = TrainedAdapters.freshModel()) {
            assertThatThrownBy(() -> AdapterStore.load(lm, vdir)).hasMessageContaining("CHECKSUM");
            Files.write(file, w);
            assertThat(AdapterStore.load(lm, vdir).version()).isEqualTo("v1");
            assertThat(lm.adapterVersion()).isEqualTo("v1");
        }
    }

    @Test
    void manifestsOfEarlierBuildsStillLoad() throws IOException {
        // exactly what the previous AdapterStore wrote: mlp, file, ISO createdAt, no sizeBytes/location
        Path vdir = tmp.resolve("old");
        copyDir(TrainedAdapters.versionDir("v1"), vdir);
        AdapterStore.Manifest now = AdapterStore.readManifest(TrainedAdapters.versionDir("v1"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode();
        o.put("version", "old").put("baseModel", now.baseModel()).put("rank", 4).put("alpha", 8.0).put("mlp", false)
                .put("createdAt", "2026-11-30T09:15:02.123456Z").put("file", AdapterStore.FILE).put("sha256", now.sha256());
        ObjectNode shapes = o.putObject("shapes");
        now.shapes().forEach((k, v) -> {
            var dims = shapes.putArray(k);
            v.forEach(dims::add);
        });
        o.put("engine", "PyTorch").put("engineVersion", "2.7.1");
        o.putObject("offlineMetrics").put("hr@1", 0.5);
        json.writeValue(vdir.resolve(AdapterStore.MANIFEST).toFile(), o);

        AdapterStore.Manifest m = AdapterStore.readManifest(vdir);
        assertThat(m.location()).isEqualTo(AdapterStore.FILE);
        assertThat(m.targetModules()).containsExactly("attn.q", "attn.k", "attn.v", "attn.o");
        assertThat(m.createdAt()).isEqualTo(java.time.Instant.parse("2026-11-30T09:15:02.123456Z"));
        assertThat(m.sizeBytes()).isEqualTo(Files.size(vdir.resolve(AdapterStore.FILE)));
        assertThat(m.parentVersion()).isNull();
        assertThat(m.shapes()).isEqualTo(now.shapes());
        assertThat(m.offlineMetrics()).containsEntry("hr@1", 0.5);
        try (LanguageModel lm = TrainedAdapters.freshModel()) {
            assertThat(AdapterStore.load(lm, vdir).version()).isEqualTo("old");
        }
        o.put("mlp", true).put("createdAt", 1_764_000_000_000L);
        json.writeValue(vdir.resolve(AdapterStore.MANIFEST).toFile(), o);
        assertThat(AdapterStore.readManifest(vdir).targetModules()).contains("mlp.fc1", "mlp.fc2");
        assertThat(AdapterStore.readManifest(vdir).createdAt().toEpochMilli()).isEqualTo(1_764_000_000_000L);
    }

    @Test
    void storeAndAvroManifestsCarryTheSameFields() throws IOException {
        AdapterStore.Manifest m = AdapterStore.readManifest(TrainedAdapters.versionDir("v2"));
        assertThat(m.sizeBytes()).isEqualTo(TrainedAdapters.weights("v2").length);
        assertThat(m.location()).isEqualTo(AdapterStore.FILE);
        AdapterManifest avro = Manifests.toAvro(m, null);
        assertThat(Manifests.fromAvro(avro)).isEqualTo(m);
        io.adaptrec.schemas.AvroClasses.trustGenerated();   // as the topic serdes do
        AdapterManifest wire = AdapterManifest.getDecoder().decode(AdapterManifest.getEncoder().encode(avro));
        assertThat(Manifests.fromAvro(wire)).isEqualTo(m);
        // every Avro field except the payload is a store field, by name
        List<String> avroFields = AdapterManifest.getClassSchema().getFields().stream().map(f -> f.name())
                .filter(n -> !n.equals("payload")).toList();
        List<String> storeFields = Arrays.stream(AdapterStore.Manifest.class.getRecordComponents())
                .map(c -> c.getName()).toList();
        assertThat(storeFields).containsExactlyElementsOf(avroFields);
    }

    @Test
    void publicationInlinesSmallAdaptersAndPointsAtLargeOnes() throws IOException {
        byte[] w = TrainedAdapters.weights("v3");
        AdapterManifest inline = Manifests.forPublication(TrainedAdapters.versionDir("v3"), w.length, null);
        assertThat(inline.getLocation()).isNull();
        assertThat(Manifests.weights(inline, null)).isEqualTo(w);

        Path shared = tmp.resolve("shared");
        AdapterManifest far = Manifests.forPublication(TrainedAdapters.versionDir("v3"), w.length - 1, shared.toUri());
        assertThat(far.getPayload()).isNull();
        assertThat(far.getLocation()).startsWith("file:").endsWith("v3/" + AdapterStore.FILE);
        assertThat(Files.readAllBytes(shared.resolve("v3").resolve(AdapterStore.FILE))).isEqualTo(w);
        try (LanguageModel lm = TrainedAdapters.freshModel()) {
            assertThat(new AdapterRegistry(lm, null).install(far).verified()).isTrue();
        }

        // relative locations resolve against the adapter directory, as plain paths or file: URIs
        Path adapters = TrainedAdapters.adapters(TrainedAdapters.dir());
        for (String loc : List.of("v3/" + AdapterStore.FILE, "file:v3/" + AdapterStore.FILE)) {
            AdapterManifest rel = AdapterManifest.newBuilder(inline).setPayload(null).setLocation(loc).build();
            assertThat(Manifests.weights(rel, adapters)).as(loc).isEqualTo(w);
        }
        AdapterManifest s3 = AdapterManifest.newBuilder(inline).setPayload(null).setLocation("s3://bucket/v3").build();
        assertThatThrownBy(() -> Manifests.weights(s3, adapters)).hasMessageContaining("'s3' is not supported");
        AdapterManifest both = AdapterManifest.newBuilder(inline).setLocation("v3/x").build();
        assertThatThrownBy(() -> Manifests.weights(both, adapters)).hasMessageContaining("exactly one");
        AdapterManifest missing = AdapterManifest.newBuilder(inline).setPayload(null).setLocation("nope/x").build();
        assertThatThrownBy(() -> Manifests.weights(missing, adapters)).hasMessageContaining("no weights file");
    }

    @Test
    void contentVersionsAreDerivedFromTheWeights() throws IOException {
        byte[] w = TrainedAdapters.weights("v1");
        assertThat(Manifests.contentVersion(w)).matches("lora-[0-9a-f]{12}")
                .isEqualTo("lora-" + AdapterStore.sha256(w).substring(0, 12))
                .isNotEqualTo(Manifests.contentVersion(TrainedAdapters.weights("v2")));
    }

    @Test
    void theProbeSetIsDeterministic() {
        Verifier.Probe a = Verifier.probe(Fixtures.vocabulary());
        Verifier.Probe b = Verifier.probe(Fixtures.vocabulary());
        assertThat(a.prompts()).hasSize(Verifier.PROBE_PROMPTS);
        for (int i = 0; i < a.prompts().size(); i++) {
            assertThat(a.prompts().get(i).tokens()).containsExactly(b.prompts().get(i).tokens());
            assertThat(a.candidates().get(i)).hasSize(Verifier.PROBE_CANDIDATES).doesNotHaveDuplicates()
                    .containsExactly(b.candidates().get(i));
        }
    }

    private static void copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

}
