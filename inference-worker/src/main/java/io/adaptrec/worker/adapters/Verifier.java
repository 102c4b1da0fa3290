package io.adaptrec.worker.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.worker.adapters.Verification.Reason;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.Prompt;
import io.adaptrec.worker.model.PromptTemplate;
import io.adaptrec.worker.model.RecLMConfig;
import io.adaptrec.worker.model.Vocabulary;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The one verification path for adapters, from the {@code adapters} topic or a model directory.
 * Cheap checks first, so a bad adapter costs as little as possible: integrity (sha256, size), base
 * model, rank and alpha, the safetensors structure (validated before DJL decodes it, so truncated
 * or hostile bytes are a {@link Reason#DECODE} rejection, never an over-read or a huge allocation),
 * names and shapes against the model's LoRA parameters, finiteness, and last a probe: scores on a
 * fixed prompt set must be finite and differ from the base's.
 */
public final class Verifier {

    /** Prompts in the probe set, and candidates per prompt (fewer for catalogues under 30 items). */
    static final int PROBE_PROMPTS = 16;
    static final int PROBE_CANDIDATES = 20;
    private static final int PROBE_HISTORY = 10;
    private static final long PROBE_SEED = 0x5AFE_7E57L;
    /** Mean |score difference| at or below which an adapter counts as the base itself. */
    static final double PROBE_EPSILON = 1e-6;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Verifier() {}

    /** Full verification of an adapter to be installed: an identity adapter is rejected ({@link Reason#PROBE}). */
    public static Verification verify(LanguageModel lm, AdapterManifest m, byte[] weights) {
        return verify(lm, m, weights, true);
    }

    /**
     * As above; {@code requireChange = false} accepts an adapter whose probe scores equal the
     * base's (a model directory trained without LoRA epochs carries the identity adapter).
     */
    public static Verification verify(LanguageModel lm, AdapterManifest m, byte[] weights, boolean requireChange) {
        return verify(lm, m, weights, requireChange, tensors -> { });
    }

    /**
     * Verifies, and when verified hands the decoded tensors (by parameter name, open until
     * {@code onVerified} returns) to {@code onVerified}, so that installing does not decode twice.
     */
    static Verification verify(LanguageModel lm, AdapterManifest m, byte[] weights, boolean requireChange,
                               Consumer<Map<String, NDArray>> onVerified) {
        String v = m.getVersion();
        String sha = AdapterStore.sha256(weights);
        if (!sha.equalsIgnoreCase(m.getSha256())) {
            return Verification.rejected(v, Reason.CHECKSUM, "sha256 " + sha + " of the weights does not match manifest "
                    + m.getSha256());
        }
        if (m.getSizeBytes() != weights.length) {
            return Verification.rejected(v, Reason.CHECKSUM, "weights are " + weights.length + " bytes but the manifest says "
                    + m.getSizeBytes());
        }
        String base = AdapterStore.baseModelId(lm);
        if (!base.equals(m.getBaseModel())) {
            return Verification.rejected(v, Reason.BASE_MODEL, "adapter was trained for base model " + m.getBaseModel()
                    + " but the loaded base is " + base);
        }
        RecLMConfig c = lm.config();
        if (m.getRank() != c.loraRank() || Float.compare(m.getAlpha(), c.loraAlpha()) != 0) {
            return Verification.rejected(v, Reason.RANK, "adapter has rank " + m.getRank() + ", alpha " + m.getAlpha()
                    + " but the base is configured for rank " + c.loraRank() + ", alpha " + c.loraAlpha());
        }
        Map<String, Parameter> lora = lm.parameters(true);
        String shapes = manifestShapes(m, lora);
        if (shapes != null) {
            return Verification.rejected(v, Reason.SHAPE, shapes);
        }
        String structure = safetensorsProblem(weights);
        if (structure != null) {
            return Verification.rejected(v, Reason.DECODE, structure);
        }
        try (NDManager tmp = lm.djlModel().getNDManager().newSubManager()) {
            NDList decoded;
            try {
                decoded = NDList.decode(tmp, weights);
            } catch (RuntimeException e) {
                return Verification.rejected(v, Reason.DECODE, "weights do not decode as safetensors: " + e);
            }
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (NDArray a : decoded) {
                tensors.put(a.getName(), a);
            }
            String fit = fits(tensors, lora);
            if (fit != null) {
                return Verification.rejected(v, Reason.SHAPE, fit);
            }
            for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
                float[] x = e.getValue().toFloatArray();
                for (int i = 0; i < x.length; i++) {
                    if (!Float.isFinite(x[i])) {
                        return Verification.rejected(v, Reason.NOT_FINITE, "tensor '" + e.getKey() + "' holds " + x[i]
                                + " at flat index " + i);
                    }
                }
            }
            Map<String, NDArray> zero = new LinkedHashMap<>();
            tensors.forEach((k, a) -> zero.put(k, tmp.zeros(a.getShape(), a.getDataType())));
            Probe probe = probe(lm.vocabulary());
            float[][] baseScores = lm.withTransientAdapter("verify-base", zero,
                    s -> lm.scoreCandidates(probe.prompts(), probe.candidates()));
            float[][] scores = lm.withTransientAdapter("verify-" + v, tensors,
                    s -> lm.scoreCandidates(probe.prompts(), probe.candidates()));
            double diff = 0;
            long n = 0;
            for (int p = 0; p < scores.length; p++) {
                for (int j = 0; j < scores[p].length; j++) {
                    if (!Float.isFinite(scores[p][j])) {
                        return Verification.rejected(v, Reason.PROBE, "probe prompt " + p + " scores candidate " + j
                                + " as " + scores[p][j]);
                    }
                    diff += Math.abs(scores[p][j] - baseScores[p][j]);
                    n++;
                }
            }
            diff /= Math.max(1, n);
            if (requireChange && diff <= PROBE_EPSILON) {
                return new Verification(v, Reason.PROBE, "probe scores equal the base's (mean |difference| " + diff
                        + " <= " + PROBE_EPSILON + "): an identity adapter", diff);
            }
            onVerified.accept(tensors);
            return Verification.verified(v, diff);
        }
    }

    /** A fixed probe set: prompts and their candidates. */
    public record Probe(List<Prompt> prompts, List<long[]> candidates) {}

    /**
     * {@value #PROBE_PROMPTS} recommendation prompts drawn deterministically from the vocabulary's
     * catalogue (a seeded shuffle per prompt: a history of up to 10 items, then up to 20 other
     * items as candidates), so every worker probes a given base with the same set.
     */
    static Probe probe(Vocabulary vocab) {
        return probe(vocab, PROBE_PROMPTS);
    }

    /** As {@link #probe(Vocabulary)}, {@code count} prompts (the first 16 are the verifier's own). */
    public static Probe probe(Vocabulary vocab, int count) {
        PromptTemplate template = PromptTemplate.resource(PromptTemplate.RECOMMENDATION);
        long[] items = vocab.itemIds();
        int hist = Math.max(1, Math.min(PROBE_HISTORY, items.length / 3));
        int cands = Math.max(1, Math.min(PROBE_CANDIDATES, items.length - hist));
        SplittableRandom rnd = new SplittableRandom(PROBE_SEED);
        List<Prompt> prompts = new ArrayList<>();
        List<long[]> candidates = new ArrayList<>();
        for (int p = 0; p < count; p++) {
            long[] pick = items.clone();
            for (int i = 0; i < Math.min(pick.length - 1, hist + cands); i++) {   // partial Fisher-Yates
                int j = i + rnd.nextInt(pick.length - i);
                long t = pick[i];
                pick[i] = pick[j];
                pick[j] = t;
            }
            long[] history = Arrays.copyOfRange(pick, 0, Math.min(hist, pick.length));
            long[] cand = Arrays.copyOfRange(pick, Math.min(hist, pick.length - 1),
                    Math.min(pick.length, hist + cands));
            prompts.add(template.render(vocab, List.of(), history, cand));
            candidates.add(cand);
        }
        return new Probe(prompts, candidates);
    }

    /** Null when the manifest's shapes (if it lists any) are the model's LoRA shapes, else what differs. */
    private static String manifestShapes(AdapterManifest m, Map<String, Parameter> lora) {
        if (m.getShapes() == null || m.getShapes().isEmpty()) {
            return null;
        }
        for (Map.Entry<String, List<Long>> e : m.getShapes().entrySet()) {
            Parameter p = lora.get(e.getKey());
            long[] dims = e.getValue().stream().mapToLong(Long::longValue).toArray();
            if (p == null) {
                return "manifest lists tensor '" + e.getKey() + "', which this model does not have";
            }
            if (!Arrays.equals(p.getArray().getShape().getShape(), dims)) {
                return "manifest gives tensor '" + e.getKey() + "' shape " + Arrays.toString(dims)
                        + " but the model expects " + p.getArray().getShape();
            }
        }
        return null;
    }

    /** Null when the tensors are exactly the model's LoRA parameters (names, shapes, types), else what differs. */
    private static String fits(Map<String, NDArray> tensors, Map<String, Parameter> lora) {
        if (!tensors.keySet().equals(lora.keySet())) {
            TreeSet<String> missing = new TreeSet<>(lora.keySet());
            missing.removeAll(tensors.keySet());
            TreeSet<String> unexpected = new TreeSet<>(tensors.keySet());
            unexpected.removeAll(lora.keySet());
            return "tensors do not fit this model: missing " + missing + ", unexpected " + unexpected;
        }
        for (Map.Entry<String, Parameter> e : lora.entrySet()) {
            NDArray want = e.getValue().getArray();
            NDArray got = tensors.get(e.getKey());
            if (!got.getShape().equals(want.getShape()) || got.getDataType() != want.getDataType()) {
                return "tensor '" + e.getKey() + "' is " + got.getDataType() + " " + got.getShape()
                        + " but the model expects " + want.getDataType() + " " + want.getShape();
            }
        }
        return null;
    }

    /**
     * Null when {@code bytes} is structurally a safetensors file of float32 tensors that DJL can
     * decode without reading past the end; else what is wrong. Layout: 8-byte little-endian header
     * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}}, then the data.
     */
    static String safetensorsProblem(byte[] bytes) {
        if (bytes.length < 8) {
            return "only " + bytes.length + " bytes: no safetensors header";
        }
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > bytes.length - 8) {
            return "header length " + n + " does not fit in " + bytes.length + " bytes (truncated?)";
        }
        long data = bytes.length - 8 - n;
        JsonNode header;
        try {
            header = JSON.readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8));
        } catch (Exception e) {
            return "header is not JSON: " + e.getMessage();
        }
        if (header == null || !header.isObject()) {
            return "header is not a JSON object";
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            JsonNode off = t.path("data_offsets");
            if (!"F32".equals(t.path("dtype").asText()) || !t.path("shape").isArray() || !off.isArray()
                    || off.size() != 2) {
                return "tensor '" + e.getKey() + "' is not a float32 tensor entry: " + t;
            }
            long count = 1;
            for (JsonNode d : t.get("shape")) {
                if (!d.canConvertToLong() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                    return "tensor '" + e.getKey() + "' has a bad shape " + t.get("shape");
                }
                count *= d.asLong();
                if (count > Integer.MAX_VALUE) {
                    return "tensor '" + e.getKey() + "' is too large: shape " + t.get("shape");
                }
            }
            long begin = off.get(0).asLong(-1);
            long end = off.get(1).asLong(-1);
            if (begin < 0 || end < begin || end > data) {
                return "tensor '" + e.getKey() + "' spans bytes [" + begin + ", " + end + ") of a " + data
                        + "-byte data section (truncated?)";
            }
            if (end - begin != count * Float.BYTES) {
                return "tensor '" + e.getKey() + "' has " + (end - begin) + " bytes for shape " + t.get("shape");
            }
        }
        return null;
    }
}
