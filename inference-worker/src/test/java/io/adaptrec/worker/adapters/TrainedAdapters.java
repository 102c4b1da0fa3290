package io.adaptrec.worker.adapters;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.Fixtures;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.PromptTemplate;
import io.adaptrec.worker.model.RecLMTrainer;
import io.adaptrec.worker.selection.DemoSelector;
import io.adaptrec.worker.selection.OfflineNeighbourhood;
import io.adaptrec.worker.selection.SimilarUsers;
import io.adaptrec.worker.selection.Strategy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A tiny RecLM base and three LoRA adapters trained on it, once per test JVM: {@code base/} (the
 * model directory) and {@code base/adapters/v1..v3} (one more LoRA epoch each, so all differ).
 * Tests load fresh models from it ({@link #freshModel()}), so none sees another's arms.
 */
final class TrainedAdapters {

    static final List<String> VERSIONS = List.of("v1", "v2", "v3");
    private static Path dir;

    private TrainedAdapters() {}

    static synchronized Path dir() {
        if (dir == null) {
            try {
                dir = train(Files.createTempDirectory("trained-adapters"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }

    private static Path train(Path out) throws IOException {
        Map<Long, long[]> seqs = Fixtures.sequences(40, 12, 3);
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), Fixtures.vocabulary(), 21)) {
            RecLMTrainer trainer = new RecLMTrainer(Fixtures.tinyTraining(), line -> { });
            OfflineNeighbourhood hood = new OfflineNeighbourhood(
                    new SimilarUsers(seqs, lm.vocabulary(), lm.itemEmbeddings(), 10), seqs, "test");
            DemoSelector selector = new DemoSelector(lm, PromptTemplate.resource(PromptTemplate.SELECTION),
                    new DemoSelector.Config(5, 4, 9, 1));
            lm.saveBase(out);
            for (String v : VERSIONS) {
                trainer.trainPrompts(lm, seqs, PromptTemplate.resource(PromptTemplate.RECOMMENDATION), hood, selector,
                        Strategy.SIMILARITY, true, 1);
                AdapterStore.save(lm, adapters(out), v, Map.of("hr@1", 0.25));
            }
        }
        return out;
    }

    static Path adapters(Path base) {
        return base.resolve("adapters");
    }

    /** A new model over the trained base, with the identity adapter in place. */
    static LanguageModel freshModel() throws IOException {
        return LanguageModel.loadBase(dir());
    }

    static Path versionDir(String v) {
        return adapters(dir()).resolve(v);
    }

    static byte[] weights(String v) throws IOException {
        return Files.readAllBytes(versionDir(v).resolve(AdapterStore.FILE));
    }

    /** The Avro manifest of {@code v} with its weights inlined. */
    static AdapterManifest manifest(String v) throws IOException {
        return Manifests.toAvro(AdapterStore.readManifest(versionDir(v)), weights(v));
    }

    /** {@code m} re-pointed at other weights, with a sha256 and size that match them. */
    static AdapterManifest matching(AdapterManifest m, byte[] weights) {
        return AdapterManifest.newBuilder(m).setPayload(java.nio.ByteBuffer.wrap(weights))
                .setSha256(AdapterStore.sha256(weights)).setSizeBytes(weights.length).build();
    }

    /** Decodes safetensors {@code weights}, maps every tensor through {@code edit}, encodes again. */
    static byte[] rewrite(byte[] weights, UnaryOperator<NDArray> edit) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), LanguageModel.ENGINE)) {
            NDList out = new NDList();
            for (NDArray a : NDList.decode(m, weights)) {
                NDArray b = edit.apply(a);
                b.setName(a.getName());
                out.add(b);
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            out.encode(bytes, NDList.Encoding.SAFETENSORS);
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The tensors of {@code weights} by name, on {@code m}. */
    static Map<String, NDArray> tensors(NDManager m, byte[] weights) {
        Map<String, NDArray> out = new java.util.LinkedHashMap<>();
        for (NDArray a : NDList.decode(m, weights)) {
            out.put(a.getName(), a);
        }
        return out;
    }
}
