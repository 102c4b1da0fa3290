package io.adaptrec.worker.adapters;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.worker.model.LanguageModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The adapters a worker serves next to its in-place one: each arrives as a manifest and its
 * weights, is verified ({@link Verifier}) and only then loaded as an arm of the
 * {@link LanguageModel} (its own arrays over the shared base). Requests pick an arm with
 * {@link LanguageModel#withAdapter(String, java.util.function.Function)}.
 */
public final class AdapterRegistry {

    private final LanguageModel lm;
    private final Path adapterDir;
    private final Map<String, String> sha256ByVersion = new ConcurrentHashMap<>();

    /** @param adapterDir where relative manifest locations resolve (null: the working directory) */
    public AdapterRegistry(LanguageModel lm, Path adapterDir) {
        this.lm = lm;
        this.adapterDir = adapterDir;
    }

    public LanguageModel model() {
        return lm;
    }

    /**
     * Verifies {@code weights} against {@code manifest} and, when verified, loads them as arm
     * {@code manifest.version}. Installing the same version with the same sha256 again (a replayed
     * compacted topic) verifies again and loads nothing.
     *
     * @throws IllegalArgumentException if that version is loaded with other weights (versions are immutable)
     */
    public Verification install(AdapterManifest manifest, byte[] weights) {
        String v = manifest.getVersion();
        String known = sha256ByVersion.get(v);
        if (known != null && !known.equalsIgnoreCase(manifest.getSha256())) {
            throw new IllegalArgumentException("adapter " + v + " is already loaded with sha256 " + known
                    + "; a version's weights never change (publish a new version)");
        }
        return Verifier.verify(lm, manifest, weights, true, tensors -> {
            if (known == null) {
                lm.addAdapter(v, tensors);
                sha256ByVersion.put(v, manifest.getSha256());
            }
        });
    }

    /** As above, reading the weights from the manifest's payload or location ({@link Manifests#weights}). */
    public Verification install(AdapterManifest manifest) throws IOException {
        return install(manifest, Manifests.weights(manifest, adapterDir));
    }

    /** Unloads arm {@code version} once the requests using it are done ({@link LanguageModel#removeAdapter}). */
    public void remove(String version) {
        lm.removeAdapter(version);
        sha256ByVersion.remove(version);
    }

    /** The in-place adapter's version, then the arms'. */
    public Set<String> loaded() {
        return lm.loadedAdapters();
    }
}
