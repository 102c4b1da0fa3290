package io.adaptrec.streams;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Deterministic text embedding of an item's title and genres, used as the item embedding before
 * any model has published one (ARCHITECTURE.md section 1: stage 1 must work from the first event).
 *
 * <p>Signed feature hashing: each feature (a title word, the character trigrams of that word, a
 * genre) adds +-weight to one coordinate chosen by a 64-bit hash of its UTF-8 bytes, and the sum
 * is L2-normalised. The hash is a fixed function of the bytes (FNV-1a + SplitMix64 finaliser), so
 * every JVM, every restart and every instance computes bit-identical vectors; that is what lets a
 * restarted application reproduce the state a from-scratch run computes. Trigrams give titles
 * that share word stems ("Star Wars", "Star Trek") overlapping coordinates; genres weigh more
 * than single words because they are the catalogue's own taste labels.
 */
public final class TextEmbedding {
    /** Bump when the feature set or hashing changes: the version names the vector space. */
    static final String SCHEME = "text-hash-v1";

    private static final Pattern NON_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");
    private static final double WORD_WEIGHT = 1.0;
    private static final double TRIGRAMS_PER_WORD_WEIGHT = 1.0;
    private static final double GENRE_WEIGHT = 2.0;

    private final int dim;

    public TextEmbedding(int dim) {
        if (dim < 1) throw new IllegalArgumentException("dim must be >= 1, was " + dim);
        this.dim = dim;
    }

    public int dim() {
        return dim;
    }

    /** Names the vector space; a different dimension is a different, incomparable space. */
    public String version() {
        return SCHEME + "-d" + dim;
    }

    /**
     * @return the unit-length embedding, or {@code null} when title and genres hold no word at
     *     all (such an item has no text to embed and is treated as unknown)
     */
    public float[] embed(String title, List<String> genres) {
        double[] acc = new double[dim];
        boolean any = false;
        for (String word : words(title)) {
            add(acc, "w:" + word, WORD_WEIGHT);
            String padded = "^" + word + "$";
            int trigrams = padded.length() - 2;
            for (int i = 0; i < trigrams; i++) {
                add(acc, "t:" + padded.substring(i, i + 3), TRIGRAMS_PER_WORD_WEIGHT / trigrams);
            }
            any = true;
        }
        if (genres != null) {
            for (String genre : genres) {
                if (genre == null || genre.isBlank()) continue;
                add(acc, "g:" + genre.strip().toLowerCase(Locale.ROOT), GENRE_WEIGHT);
                any = true;
            }
        }
        if (!any) return null;
        double norm = 0;
        for (double v : acc) norm += v * v;
        if (norm == 0) return null;
        double inv = 1.0 / Math.sqrt(norm);
        float[] out = new float[dim];
        for (int i = 0; i < dim; i++) out[i] = (float) (acc[i] * inv);
        return out;
    }

    private void add(double[] acc, String feature, double weight) {
        long h = hash(feature);
        int index = (int) Long.remainderUnsigned(h >>> 1, dim);
        acc[index] += (h & 1L) == 0 ? weight : -weight;
    }

    private static String[] words(String title) {
        if (title == null || title.isBlank()) return new String[0];
        String[] parts = NON_WORD.split(title.toLowerCase(Locale.ROOT).strip());
        int n = 0;
        for (String p : parts) if (!p.isEmpty()) parts[n++] = p;
        return java.util.Arrays.copyOf(parts, n);
    }

    static long hash(String feature) {
        long h = 0xcbf29ce484222325L;
        for (byte b : feature.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        // FNV-1a alone mixes short strings' low bits poorly; the SplitMix64 finaliser fixes that.
        h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
        h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
        return h ^ (h >>> 31);
    }
}
