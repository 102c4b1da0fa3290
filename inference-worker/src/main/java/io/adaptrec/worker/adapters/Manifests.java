package io.adaptrec.worker.adapters;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.worker.model.AdapterStore;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One manifest format: the Avro {@link AdapterManifest} on the {@code adapters} topic and the
 * store's {@code manifest.json} ({@link AdapterStore.Manifest}) carry the same fields; these are
 * the converters, where the weights are found, and how an adapter is published.
 */
public final class Manifests {

    private Manifests() {}

    /**
     * The Avro form of {@code m}; with {@code payload} the weights are inlined and {@code location}
     * is left out (the schema wants exactly one of them), else {@code location} is kept as is.
     */
    public static AdapterManifest toAvro(AdapterStore.Manifest m, byte[] payload) {
        return AdapterManifest.newBuilder()
                .setVersion(m.version())
                .setBaseModel(m.baseModel())
                .setRank(m.rank())
                .setAlpha(m.alpha())
                .setTargetModules(new ArrayList<>(m.targetModules()))
                .setParentVersion(m.parentVersion())
                .setCreatedAt(m.createdAt().truncatedTo(ChronoUnit.MILLIS))   // timestamp-millis
                .setOfflineMetrics(new LinkedHashMap<>(m.offlineMetrics()))
                .setSha256(m.sha256())
                .setSizeBytes(m.sizeBytes())
                .setLocation(payload == null ? m.location() : null)
                .setPayload(payload == null ? null : ByteBuffer.wrap(payload))
                .setShapes(new LinkedHashMap<>(m.shapes()))
                .setEngine(m.engine())
                .setEngineVersion(m.engineVersion())
                .build();
    }

    /**
     * The store form of {@code a} (the payload is dropped): an inlined adapter, once written to a
     * version directory, lives in {@link AdapterStore#FILE}.
     */
    public static AdapterStore.Manifest fromAvro(AdapterManifest a) {
        Map<String, List<Long>> shapes = new LinkedHashMap<>(a.getShapes());
        return new AdapterStore.Manifest(a.getVersion(), a.getBaseModel(), a.getRank(), a.getAlpha(),
                a.getTargetModules(), a.getParentVersion(), a.getCreatedAt(), a.getOfflineMetrics(), a.getSha256(),
                a.getSizeBytes(), a.getLocation() != null ? a.getLocation() : AdapterStore.FILE, shapes,
                a.getEngine(), a.getEngineVersion());
    }

    /**
     * The weights bytes of {@code m}: its payload, or the file at its location, a {@code file:} URI
     * or a plain path; relative ones resolve against {@code adapterDir}.
     *
     * @throws IOException naming the version and location if neither or both are set, the scheme
     *                     is not supported, or the file cannot be read
     */
    public static byte[] weights(AdapterManifest m, Path adapterDir) throws IOException {
        String v = m.getVersion();
        if (m.getPayload() != null && m.getLocation() != null) {
            throw new IOException("adapter " + v + ": manifest sets both payload and location (exactly one is allowed)");
        }
        if (m.getPayload() != null) {
            ByteBuffer b = m.getPayload().duplicate();
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        }
        if (m.getLocation() == null) {
            throw new IOException("adapter " + v + ": manifest has neither payload nor location");
        }
        Path file = resolve(v, m.getLocation(), adapterDir);
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException("adapter " + v + ": no weights file at " + file + " (location " + m.getLocation() + ")");
        }
    }

    private static Path resolve(String version, String location, Path adapterDir) throws IOException {
        URI uri = null;
        try {
            uri = new URI(location);
        } catch (URISyntaxException e) {
            // not a URI (e.g. a path with spaces): a plain path
        }
        String path = location;
        if (uri != null && uri.getScheme() != null && uri.getScheme().length() > 1) {
            if (!uri.getScheme().equalsIgnoreCase("file")) {
                throw new IOException("adapter " + version + ": location scheme '" + uri.getScheme()
                        + "' is not supported (file: URIs and plain paths only): " + location);
            }
            if (!uri.isOpaque()) {
                return Path.of(uri);
            }
            path = uri.getSchemeSpecificPart();   // file:relative/path
        }
        Path p = Path.of(path);
        return p.isAbsolute() || adapterDir == null ? p : adapterDir.resolve(p);
    }

    /**
     * The manifest to publish for the adapter saved in {@code versionDir}: weights of at most
     * {@code inlineMaxBytes} are inlined as the payload; larger ones are referenced by location,
     * copied first to {@code <sharedDir>/<version>/} when a shared {@code file:} directory is given
     * (workers on other hosts read them there), else pointing at {@code versionDir} itself
     * (useful on one host only).
     *
     * @throws IOException if the version directory cannot be read or the copy fails
     * @throws IllegalArgumentException if {@code sharedDir} is not a {@code file:} URI
     */
    public static AdapterManifest forPublication(Path versionDir, long inlineMaxBytes, URI sharedDir)
            throws IOException {
        AdapterStore.Manifest m = AdapterStore.readManifest(versionDir);
        Path file = versionDir.resolve(m.location());
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length <= inlineMaxBytes) {
            return toAvro(m, bytes);
        }
        String location;
        if (sharedDir == null) {
            location = file.toAbsolutePath().toUri().toString();
        } else {
            if (!"file".equalsIgnoreCase(sharedDir.getScheme())) {
                throw new IllegalArgumentException("shared adapter directory must be a file: URI, got " + sharedDir);
            }
            Path target = Path.of(sharedDir).resolve(m.version()).resolve(file.getFileName().toString());
            Files.createDirectories(target.getParent());
            Files.copy(file, target, StandardCopyOption.REPLACE_EXISTING);
            location = target.toUri().toString();
        }
        AdapterStore.Manifest published = new AdapterStore.Manifest(m.version(), m.baseModel(), m.rank(), m.alpha(),
                m.targetModules(), m.parentVersion(), m.createdAt(), m.offlineMetrics(), m.sha256(), m.sizeBytes(),
                location, m.shapes(), m.engine(), m.engineVersion());
        return toAvro(published, null);
    }

    /** A version derived from the content: "lora-" and the first 12 hex digits of the weights' sha256. */
    public static String contentVersion(byte[] weights) {
        return "lora-" + AdapterStore.sha256(weights).substring(0, 12);
    }
}
