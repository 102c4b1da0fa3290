package io.adaptrec.worker.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.worker.adapters.Manifests;
import io.adaptrec.worker.adapters.Verification;
import io.adaptrec.worker.adapters.Verifier;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA adapters on disk: {@code <dir>/<version>/adapter.safetensors} plus a {@code manifest.json}
 * holding the fields of the Avro {@code AdapterManifest} (all but the inlined payload). Loading
 * runs the one verification path ({@link Verifier}) before a byte reaches the live model, then swaps
 * the weights in place under the model's write lock, so concurrent scoring sees either the old or
 * the new adapter, never a mix.
 */
public final class AdapterStore {

    public static final String FILE = "adapter.safetensors";
    public static final String MANIFEST = "manifest.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What {@code manifest.json} holds: exactly the Avro {@code io.adaptrec.avro.AdapterManifest}
     * fields except {@code payload} ({@link Manifests} converts both ways).
     *
     * @param location the weights file, relative to the version directory (or a URI once published)
     * @param shapes   shape of every adapter tensor by name
     */
    public record Manifest(String version, String baseModel, int rank, float alpha, List<String> targetModules,
                           String parentVersion, Instant createdAt, Map<String, Double> offlineMetrics,
                           String sha256, long sizeBytes, String location, Map<String, List<Long>> shapes,
                           String engine, String engineVersion) {
        public Manifest {
            targetModules = List.copyOf(targetModules);
            offlineMetrics = Map.copyOf(offlineMetrics);
            shapes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(shapes));
        }
    }

    private AdapterStore() {}

    /** Writes the model's current adapter as {@code version} under {@code dir}. */
    public static Manifest save(LanguageModel lm, Path dir, String version, Map<String, Double> metrics)
            throws IOException {
        return save(lm, dir, version, metrics, null);
    }

    /** As above, naming the adapter it was fine-tuned from ({@code parentVersion}, null: the base). */
    public static Manifest save(LanguageModel lm, Path dir, String version, Map<String, Double> metrics,
                                String parentVersion) throws IOException {
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
        Map<String, List<Long>> shapes = new LinkedHashMap<>();
        adapters.forEach((k, p) -> shapes.put(k, boxed(p.getArray().getShape().getShape())));
        RecLMConfig c = lm.config();
        byte[] bytes = Files.readAllBytes(file);
        Manifest m = new Manifest(version, baseModelId(lm), c.loraRank(), c.loraAlpha(), targetModules(c),
                parentVersion, Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS), metrics, sha256(bytes), bytes.length, FILE, shapes,
                LanguageModel.ENGINE, Engine.getEngine(LanguageModel.ENGINE).getVersion());
        writeManifest(vdir.resolve(MANIFEST), m);
        lm.adapterSaved(version);
        return m;
    }

    /**
     * Verifies and installs the adapter in {@code versionDir}; afterwards the model scores with it.
     * An identity adapter (B = 0) is accepted here: a model directory trained without LoRA epochs
     * legitimately carries one, while published adapters must change the model
     * ({@code adapters.AdapterRegistry}).
     *
     * @throws IOException naming the directory, the check that failed and why
     */
    public static Manifest load(LanguageModel lm, Path versionDir) throws IOException {
        Manifest m = readManifest(versionDir);
        byte[] bytes = Manifests.weights(Manifests.toAvro(m, null), versionDir);
        install(lm, Manifests.toAvro(m, null), bytes, versionDir.resolve(m.location()).toString());
        return m;
    }

    /**
     * Verifies a published adapter and installs it in place (e.g. the trainer's warm start from the
     * production adapter); afterwards the model scores with it.
     *
     * @throws IOException naming the adapter, the check that failed and why
     */
    public static void install(LanguageModel lm, AdapterManifest m, byte[] bytes) throws IOException {
        install(lm, m, bytes, "adapter " + m.getVersion());
    }

    private static void install(LanguageModel lm, AdapterManifest m, byte[] bytes, String where) throws IOException {
        Verification v = Verifier.verify(lm, m, bytes, false);
        if (!v.verified()) {
            throw new IOException(where + ": adapter " + m.getVersion() + " rejected (" + v.reason() + "): "
                    + v.message());
        }
        Map<String, Parameter> adapters = lm.parameters(true);
        lm.swapAdapter(m.getVersion(), () -> lm.readSafetensors(where, new ByteArrayInputStream(bytes), adapters, true));
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

    /** Projections an adapter of {@code cfg} modifies, as the manifest's {@code targetModules} name them. */
    public static List<String> targetModules(RecLMConfig cfg) {
        return cfg.loraMlp() ? List.of("attn.q", "attn.k", "attn.v", "attn.o", "mlp.fc1", "mlp.fc2")
                : List.of("attn.q", "attn.k", "attn.v", "attn.o");
    }

    /** Lower-case hex sha256 of {@code bytes}. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- manifest.json

    /** Writes {@code m} as {@code manifest.json} (createdAt as an ISO-8601 instant). */
    public static void writeManifest(Path file, Manifest m) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("version", m.version());
        o.put("baseModel", m.baseModel());
        o.put("rank", m.rank());
        o.put("alpha", m.alpha());
        ArrayNode targets = o.putArray("targetModules");
        m.targetModules().forEach(targets::add);
        o.put("parentVersion", m.parentVersion());
        o.put("createdAt", m.createdAt().toString());
        ObjectNode metrics = o.putObject("offlineMetrics");
        m.offlineMetrics().forEach(metrics::put);
        o.put("sha256", m.sha256());
        o.put("sizeBytes", m.sizeBytes());
        o.put("location", m.location());
        ObjectNode shapes = o.putObject("shapes");
        m.shapes().forEach((k, v) -> {
            ArrayNode dims = shapes.putArray(k);
            v.forEach(dims::add);
        });
        o.put("engine", m.engine());
        o.put("engineVersion", m.engineVersion());
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), o);
    }

    /**
     * Reads {@code <versionDir>/manifest.json}, tolerantly: besides the current fields it accepts
     * what earlier builds wrote ({@code file} for {@code location}, {@code mlp} instead of
     * {@code targetModules}, no {@code sizeBytes}: taken from the file), and {@code createdAt} as an
     * ISO-8601 string or epoch millis.
     *
     * @throws IOException naming the file and the missing or malformed field
     */
    public static Manifest readManifest(Path versionDir) throws IOException {
        Path file = versionDir.resolve(MANIFEST);
        JsonNode o = JSON.readTree(file.toFile());
        if (o == null || !o.isObject()) {
            throw new IOException(file + ": not a JSON object");
        }
        String location = text(o, "location", null);
        if (location == null) {
            location = required(file, o, "file");
        }
        List<String> targets = new ArrayList<>();
        if (o.has("targetModules")) {
            o.get("targetModules").forEach(t -> targets.add(t.asText()));
        } else {
            targets.addAll(List.of("attn.q", "attn.k", "attn.v", "attn.o"));
            if (o.path("mlp").asBoolean(false)) {
                targets.addAll(List.of("mlp.fc1", "mlp.fc2"));
            }
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        o.path("offlineMetrics").fields().forEachRemaining(e -> metrics.put(e.getKey(), e.getValue().asDouble()));
        Map<String, List<Long>> shapes = new LinkedHashMap<>();
        o.path("shapes").fields().forEachRemaining(e -> {
            List<Long> dims = new ArrayList<>();
            e.getValue().forEach(d -> dims.add(d.asLong()));
            shapes.put(e.getKey(), dims);
        });
        long size;
        if (o.hasNonNull("sizeBytes")) {
            size = o.get("sizeBytes").asLong();
        } else {
            Path weights = versionDir.resolve(location);
            size = Files.isRegularFile(weights) ? Files.size(weights) : -1;
        }
        return new Manifest(required(file, o, "version"), required(file, o, "baseModel"),
                requiredNode(file, o, "rank").asInt(), (float) requiredNode(file, o, "alpha").asDouble(), targets,
                text(o, "parentVersion", null), createdAt(file, requiredNode(file, o, "createdAt")), metrics,
                required(file, o, "sha256"), size, location, shapes, text(o, "engine", ""),
                text(o, "engineVersion", ""));
    }

    private static Instant createdAt(Path file, JsonNode n) throws IOException {
        if (n.isNumber()) {
            return Instant.ofEpochMilli(n.asLong());
        }
        try {
            return Instant.parse(n.asText());
        } catch (DateTimeParseException e) {
            throw new IOException(file + ": createdAt '" + n.asText() + "' is neither an ISO-8601 instant nor epoch millis");
        }
    }

    private static String text(JsonNode o, String field, String dflt) {
        JsonNode n = o.get(field);
        return n == null || n.isNull() ? dflt : n.asText();
    }

    private static JsonNode requiredNode(Path file, JsonNode o, String field) throws IOException {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            throw new IOException(file + ": missing field '" + field + "'");
        }
        return n;
    }

    private static String required(Path file, JsonNode o, String field) throws IOException {
        return requiredNode(file, o, field).asText();
    }

    private static List<Long> boxed(long[] dims) {
        List<Long> out = new ArrayList<>(dims.length);
        for (long d : dims) {
            out.add(d);
        }
        return out;
    }
}
