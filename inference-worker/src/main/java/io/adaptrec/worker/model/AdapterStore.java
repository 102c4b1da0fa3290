package io.adaptrec.worker.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA adapters on disk: {@code <dir>/<version>/adapter.safetensors} plus a {@code manifest.json}
 * holding shapes, versions, the base model id and the file's sha256. Loading verifies all of them
 * before a byte reaches the live model, then swaps the weights in place under the model's write
 * lock, so concurrent scoring sees either the old or the new adapter, never a mix.
 */
public final class AdapterStore {

    public static final String FILE = "adapter.safetensors";
    public static final String MANIFEST = "manifest.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What {@code manifest.json} holds. */
    public record Manifest(String version, String baseModel, int rank, float alpha, boolean mlp,
                           String createdAt, String file, String sha256, Map<String, long[]> shapes,
                           String engine, String engineVersion, Map<String, Double> offlineMetrics) {}

    private AdapterStore() {}

    /** Writes the model's current adapter as {@code version} under {@code dir}. */
    public static Manifest save(LanguageModel lm, Path dir, String version, Map<String, Double> metrics)
            throws IOException {
        if (!version.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("adapter version must match [A-Za-z0-9._-]+, got '" + version + "'");
        }
        Path vdir = dir.resolve(version);
        Files.createDirectories(vdir);
        Map<String, Parameter> adapters = lm.parameters(true);
        if (adapters.isEmpty()) {
            throw new IllegalStateException("model has no LoRA parameters (loraRank = 0)");
        }
        Path file = vdir.resolve(FILE);
        LanguageModel.writeSafetensors(file, adapters);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        adapters.forEach((k, p) -> shapes.put(k, p.getArray().getShape().getShape()));
        RecLMConfig c = lm.config();
        Manifest m = new Manifest(version, baseModelId(lm), c.loraRank(), c.loraAlpha(), c.loraMlp(),
                Instant.now().toString(), FILE, sha256(Files.readAllBytes(file)), shapes,
                LanguageModel.ENGINE, Engine.getEngine(LanguageModel.ENGINE).getVersion(), metrics);
        JSON.writerWithDefaultPrettyPrinter().writeValue(vdir.resolve(MANIFEST).toFile(), m);
        lm.adapterSaved(version);
        return m;
    }

    /**
     * Verifies and installs the adapter in {@code versionDir}; afterwards the model scores with it.
     *
     * @throws IOException naming the file and the check that failed (checksum, base model, shape)
     */
    public static Manifest load(LanguageModel lm, Path versionDir) throws IOException {
        Manifest m = JSON.readValue(versionDir.resolve(MANIFEST).toFile(), Manifest.class);
        Path file = versionDir.resolve(m.file());
        String actual = sha256(Files.readAllBytes(file));
        if (!actual.equals(m.sha256())) {
            throw new IOException(file + ": sha256 " + actual + " does not match manifest " + m.sha256());
        }
        String base = baseModelId(lm);
        if (!base.equals(m.baseModel())) {
            throw new IOException(versionDir + ": adapter was trained for base model " + m.baseModel()
                    + " but the loaded base is " + base);
        }
        Map<String, Parameter> adapters = lm.parameters(true);
        for (Map.Entry<String, long[]> e : m.shapes().entrySet()) {
            Parameter p = adapters.get(e.getKey());
            if (p == null || !java.util.Arrays.equals(p.getArray().getShape().getShape(), e.getValue())) {
                throw new IOException(versionDir + ": tensor '" + e.getKey() + "' does not fit this model");
            }
        }
        lm.swapAdapter(m.version(), () -> lm.readSafetensors(file, adapters, true));
        return m;
    }

    /** Back to the base model: B = 0 makes every adapter update vanish. */
    public static void reset(LanguageModel lm) {
        try {
            lm.swapAdapter(LanguageModel.BASE, () -> {
                for (Parameter p : lm.parameters(true).values()) {
                    if (p.getName().endsWith("_B")) {
                        NDArray a = p.getArray();
                        a.set(new float[(int) a.size()]);
                    }
                }
            });
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);   // nothing in the reset does I/O
        }
    }

    /** Content id of the frozen base: sha256 over every base tensor, in parameter order. */
    public static String baseModelId(LanguageModel lm) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, Parameter> e : lm.parameters(false).entrySet()) {
                md.update(e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                ByteBuffer b = e.getValue().getArray().toByteBuffer();
                md.update(b);
            }
            return "reclm-" + HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
