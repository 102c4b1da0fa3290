package io.adaptrec.worker.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.adaptrec.worker.data.Dataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * RecLM's vocabulary: special tokens, one token per catalogue item ({@code item_<id>}), then word
 * tokens from titles, genres and the prompt templates.
 *
 * <p>Persisted as a HuggingFace {@code tokenizer.json} (WordLevel model, Lowercase normaliser,
 * WhitespaceSplit pre-tokeniser), so the same file loads in DJL's Rust tokenizer and in Python's
 * {@code tokenizers}. Encoding inside the JVM is a plain map lookup: prompts are assembled from
 * structured ids, never parsed back from free text, so the native tokenizer would only add a JNI
 * round trip per prompt. The test suite proves both paths give the same ids. Items keep a
 * contiguous id range, which lets the LM head slice "all item logits" with one index.
 */
public final class Vocabulary {

    public static final List<String> SPECIALS = List.of("[PAD]", "[UNK]", "[BOS]", "[EOS]", "[SEP]");
    public static final int PAD = 0;
    public static final int UNK = 1;
    public static final int BOS = 2;
    public static final int EOS = 3;
    public static final int SEP = 4;
    private static final String ITEM_PREFIX = "item_";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<String> tokens;
    private final Map<String, Integer> ids;
    private final long[] itemIds;          // token (itemStart + k) <-> itemIds[k]
    private final Map<Long, Integer> itemToken;
    private final int[][] itemWords;       // word token ids of item k's title and genres
    private final float[][] itemVectors;   // pretrained text vectors of item k (ItemTextEncoder), or null

    private Vocabulary(List<String> tokens, long[] itemIds, int[][] itemWords) {
        this(tokens, itemIds, itemWords, null);
    }

    private Vocabulary(List<String> tokens, long[] itemIds, int[][] itemWords, float[][] itemVectors) {
        this.tokens = List.copyOf(tokens);
        this.ids = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            if (ids.put(tokens.get(i), i) != null) {
                throw new IllegalArgumentException("duplicate token '" + tokens.get(i) + "'");
            }
        }
        this.itemIds = itemIds;
        this.itemWords = itemWords;
        if (itemVectors != null && itemVectors.length != itemIds.length) {
            throw new IllegalArgumentException(itemVectors.length + " item vectors for " + itemIds.length + " items");
        }
        this.itemVectors = itemVectors;
        this.itemToken = new HashMap<>();
        for (int k = 0; k < itemIds.length; k++) {
            itemToken.put(itemIds[k], itemStart() + k);
        }
    }

    /** Builds the vocabulary from the catalogue and the words the prompt templates use. */
    public static Vocabulary build(Collection<Dataset.Item> catalogue, Collection<String> templateWords) {
        List<Dataset.Item> items = new ArrayList<>(catalogue);
        items.sort((a, b) -> Long.compare(a.itemId(), b.itemId()));
        TreeSet<String> words = new TreeSet<>();
        for (Dataset.Item it : items) {
            words.addAll(words(it));
        }
        for (String w : templateWords) {
            words.add(w.toLowerCase(Locale.ROOT));
        }
        words.removeIf(SPECIALS::contains);
        List<String> tokens = new ArrayList<>(SPECIALS);
        long[] itemIds = new long[items.size()];
        for (int k = 0; k < items.size(); k++) {
            itemIds[k] = items.get(k).itemId();
            tokens.add(ITEM_PREFIX + itemIds[k]);
        }
        words.removeIf(w -> w.startsWith(ITEM_PREFIX));
        tokens.addAll(words);
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            index.put(tokens.get(i), i);
        }
        int[][] itemWords = new int[items.size()][];
        for (int k = 0; k < items.size(); k++) {
            itemWords[k] = words(items.get(k)).stream().mapToInt(index::get).toArray();
        }
        return new Vocabulary(tokens, itemIds, itemWords);
    }

    /** Lower-cased alphanumeric words of an item's title and genres, duplicates removed. */
    static List<String> words(Dataset.Item item) {
        LinkedHashMap<String, Boolean> out = new LinkedHashMap<>();
        for (String w : splitWords(item.title())) {
            out.put(w, true);
        }
        for (String g : item.genres()) {
            for (String w : splitWords(g)) {
                out.put(w, true);
            }
        }
        return new ArrayList<>(out.keySet());
    }

    static List<String> splitWords(String text) {
        List<String> out = new ArrayList<>();
        for (String w : text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
            if (!w.isEmpty()) {
                out.add(w);
            }
        }
        return out;
    }

    /**
     * Token ids of the words of an item's title and genres that this vocabulary knows: how an item
     * added to the catalogue after training is represented (text-aware tokens). Empty when no
     * word is known.
     */
    public int[] wordTokens(Dataset.Item item) {
        return words(item).stream().map(ids::get).filter(java.util.Objects::nonNull).mapToInt(Integer::intValue)
                .filter(t -> t >= itemEnd()).toArray();
    }

    public int size() {
        return tokens.size();
    }

    public int itemStart() {
        return SPECIALS.size();
    }

    public int itemEnd() {
        return SPECIALS.size() + itemIds.length;
    }

    public int itemCount() {
        return itemIds.length;
    }

    public String token(int id) {
        return tokens.get(id);
    }

    /** Id of a word or special token; {@link #UNK} for a word outside the vocabulary. */
    public int id(String token) {
        Integer id = ids.get(token);
        if (id == null) {
            id = ids.get(token.toLowerCase(Locale.ROOT));
        }
        return id == null ? UNK : id;
    }

    public boolean hasItem(long itemId) {
        return itemToken.containsKey(itemId);
    }

    /** Token of a catalogue item; unknown items map to {@link #UNK} so a stale id cannot crash serving. */
    public int itemToken(long itemId) {
        Integer t = itemToken.get(itemId);
        return t == null ? UNK : t;
    }

    /** Item id of an item token. */
    public long itemId(int token) {
        if (token < itemStart() || token >= itemEnd()) {
            throw new IllegalArgumentException("token " + token + " is not an item token");
        }
        return itemIds[token - itemStart()];
    }

    public long[] itemIds() {
        return itemIds.clone();
    }

    /** Word tokens of item number {@code k} (0-based within the item range). */
    public int[] itemWords(int k) {
        return itemWords[k];
    }

    /**
     * This vocabulary with every item's pretrained text vector ({@link ItemTextEncoder} of its title and
     * genres, in item order), which text-vector models ({@link RecLMConfig#textDim()} above 0) add to the items'
     * token rows.
     */
    public Vocabulary withItemVectors(Collection<Dataset.Item> catalogue) {
        Map<Long, Dataset.Item> byId = new HashMap<>();
        for (Dataset.Item it : catalogue) {
            byId.put(it.itemId(), it);
        }
        List<String> texts = new ArrayList<>(itemIds.length);
        for (long id : itemIds) {
            Dataset.Item it = byId.get(id);
            texts.add(it == null ? "" : ItemTextEncoder.text(it));
        }
        return new Vocabulary(tokens, itemIds, itemWords, ItemTextEncoder.encode(texts));
    }

    /** Dimension of the items' pretrained text vectors; 0 without them. */
    public int itemVectorDim() {
        return itemVectors == null || itemVectors.length == 0 ? 0 : itemVectors[0].length;
    }

    /** Pretrained text vector of item number {@code k}; only when {@link #itemVectorDim()} is above 0. */
    public float[] itemVector(int k) {
        return itemVectors[k];
    }

    /** Writes {@code tokenizer.json} (HuggingFace format), {@code item-text.json} and, with text vectors, {@code item-vectors.bin}. */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIALS.size(); i++) {
            ObjectNode t = added.addObject();
            t.put("id", i);
            t.put("content", SPECIALS.get(i));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putObject("normalizer").put("type", "Lowercase");
        root.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < tokens.size(); i++) {
            vocab.put(tokens.get(i), i);
        }
        model.put("unk_token", "[UNK]");
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer.json").toFile(), root);

        ObjectNode text = JSON.createObjectNode();
        for (int k = 0; k < itemIds.length; k++) {
            ArrayNode a = text.putArray(Long.toString(itemIds[k]));
            for (int w : itemWords[k]) {
                a.add(tokens.get(w));
            }
        }
        JSON.writeValue(dir.resolve("item-text.json").toFile(), text);
        if (itemVectors != null) {
            writeVectors(dir.resolve(VECTORS), itemIds, itemVectors);
        }
    }

    static final String VECTORS = "item-vectors.bin";

    /** {@code ADAPTREC-ITEM-VECTORS 1}, the encoder's name, item count, dimension, then per item its id and floats (big-endian). */
    private static void writeVectors(Path file, long[] ids, float[][] vectors) throws IOException {
        try (var out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(file)))) {
            out.writeUTF("ADAPTREC-ITEM-VECTORS 1");
            out.writeUTF(ItemTextEncoder.NAME);
            out.writeInt(ids.length);
            out.writeInt(vectors.length == 0 ? 0 : vectors[0].length);
            for (int k = 0; k < ids.length; k++) {
                out.writeLong(ids[k]);
                for (float f : vectors[k]) {
                    out.writeFloat(f);
                }
            }
        }
    }

    private static float[][] readVectors(Path file, long[] ids) throws IOException {
        try (var in = new java.io.DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file)))) {
            String magic = in.readUTF();
            if (!magic.equals("ADAPTREC-ITEM-VECTORS 1")) {
                throw new IOException(file + ": not an item-vectors file (header '" + magic + "')");
            }
            String encoder = in.readUTF();
            int n = in.readInt();
            int dim = in.readInt();
            if (n != ids.length) {
                throw new IOException(file + ": " + n + " vectors (" + encoder + ") for " + ids.length + " items");
            }
            float[][] out = new float[n][dim];
            for (int k = 0; k < n; k++) {
                long id = in.readLong();
                if (id != ids[k]) {
                    throw new IOException(file + ": vector " + k + " is of item " + id + ", expected " + ids[k]);
                }
                for (int j = 0; j < dim; j++) {
                    out[k][j] = in.readFloat();
                }
            }
            return out;
        }
    }

    /** Reads back what {@link #save} wrote; token ids are exactly those of the file. */
    public static Vocabulary load(Path dir) throws IOException {
        Path tokFile = dir.resolve("tokenizer.json");
        JsonNode vocab = JSON.readTree(tokFile.toFile()).path("model").path("vocab");
        if (!vocab.isObject() || vocab.isEmpty()) {
            throw new IOException(tokFile + ": no model.vocab object (not a WordLevel tokenizer.json?)");
        }
        String[] byId = new String[vocab.size()];
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().asInt(-1);
            if (id < 0 || id >= byId.length || byId[id] != null) {
                throw new IOException(tokFile + ": token '" + e.getKey() + "' has a bad or duplicate id " + id);
            }
            byId[id] = e.getKey();
        }
        List<String> tokens = List.of(byId);
        for (int i = 0; i < SPECIALS.size(); i++) {
            if (!SPECIALS.get(i).equals(tokens.get(i))) {
                throw new IOException(tokFile + ": id " + i + " must be " + SPECIALS.get(i));
            }
        }
        int n = 0;
        while (SPECIALS.size() + n < tokens.size() && tokens.get(SPECIALS.size() + n).startsWith(ITEM_PREFIX)) {
            n++;
        }
        long[] itemIds = new long[n];
        for (int k = 0; k < n; k++) {
            itemIds[k] = Long.parseLong(tokens.get(SPECIALS.size() + k).substring(ITEM_PREFIX.length()));
        }
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            index.put(tokens.get(i), i);
        }
        JsonNode text = JSON.readTree(dir.resolve("item-text.json").toFile());
        int[][] itemWords = new int[n][];
        for (int k = 0; k < n; k++) {
            JsonNode words = text.path(Long.toString(itemIds[k]));
            int[] w = new int[words.size()];
            for (int j = 0; j < w.length; j++) {
                w[j] = index.getOrDefault(words.get(j).asText(), UNK);
            }
            itemWords[k] = w;
        }
        Path vectors = dir.resolve(VECTORS);
        return new Vocabulary(tokens, itemIds, itemWords, Files.isRegularFile(vectors) ? readVectors(vectors, itemIds) : null);
    }
}
