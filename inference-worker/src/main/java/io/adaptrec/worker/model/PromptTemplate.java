package io.adaptrec.worker.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A prompt template loaded from a resource or file (data, not code) and rendered into token ids.
 * See {@code prompts/recommendation.prompt} for the format.
 */
public final class PromptTemplate {

    public static final String RECOMMENDATION = "prompts/recommendation.prompt";
    public static final String SELECTION = "prompts/selection.prompt";

    private final String source;
    private final String[] demonstration;
    private final String[] prompt;

    private PromptTemplate(String source, String text) {
        this.source = source;
        String demo = null;
        String main = null;
        String[] lines = text.split("\\R");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            String key = colon < 0 ? "" : line.substring(0, colon).strip();
            String value = colon < 0 ? "" : line.substring(colon + 1).strip();
            switch (key) {
                case "demonstration" -> demo = value;
                case "prompt" -> main = value;
                default -> throw new IllegalArgumentException(source + " line " + (i + 1)
                        + ": expected 'demonstration:' or 'prompt:', got '" + line + "'");
            }
        }
        if (demo == null || main == null) {
            throw new IllegalArgumentException(source + ": needs both 'demonstration:' and 'prompt:' lines");
        }
        this.demonstration = demo.split("\\s+");
        this.prompt = main.split("\\s+");
        requirePlaceholders(demonstration, "demonstration", "{watched}", "{choice}");
        requirePlaceholders(prompt, "prompt", "{demonstrations}", "{history}", "{candidates}");
    }

    private void requirePlaceholders(String[] parts, String key, String... names) {
        List<String> have = List.of(parts);
        for (String n : names) {
            if (!have.contains(n)) {
                throw new IllegalArgumentException(source + ": '" + key + ":' must contain " + n);
            }
        }
    }

    public static PromptTemplate resource(String name) {
        try (InputStream in = PromptTemplate.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalArgumentException("prompt template resource not found: " + name);
            }
            return new PromptTemplate(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static PromptTemplate file(Path path) throws IOException {
        return new PromptTemplate(path.toString(), Files.readString(path));
    }

    public static PromptTemplate parse(String name, String text) {
        return new PromptTemplate(name, text);
    }

    /** Literal words of the template (placeholders and specials excluded), for the vocabulary. */
    public Set<String> words() {
        Set<String> out = new LinkedHashSet<>();
        for (String[] parts : new String[][] {demonstration, prompt}) {
            for (String p : parts) {
                if (!p.startsWith("{") && !p.startsWith("[")) {
                    out.add(p);
                }
            }
        }
        for (int k = 1; k <= 20; k++) {
            out.add(Integer.toString(k));   // demonstration ranks {k}
        }
        return out;
    }

    /** Renders the prompt; the answer slot is the last token. */
    public Prompt render(Vocabulary vocab, List<Demonstration> demos, long[] history, long[] candidates) {
        List<Integer> tokens = new ArrayList<>(256);
        List<Integer> lmPos = new ArrayList<>();
        List<Integer> lmTgt = new ArrayList<>();
        for (String part : prompt) {
            switch (part) {
                case "{demonstrations}" -> {
                    for (int k = 0; k < demos.size(); k++) {
                        renderDemo(vocab, demos.get(k), k + 1, tokens, lmPos, lmTgt);
                    }
                }
                case "{history}" -> items(vocab, history, tokens, lmPos, lmTgt, true);
                case "{candidates}" -> items(vocab, candidates, tokens, lmPos, lmTgt, false);
                default -> tokens.add(vocab.id(part));
            }
        }
        return new Prompt(tokens.stream().mapToInt(Integer::intValue).toArray(),
                lmPos.stream().mapToInt(Integer::intValue).toArray(),
                lmTgt.stream().mapToInt(Integer::intValue).toArray());
    }

    private void renderDemo(Vocabulary vocab, Demonstration d, int k, List<Integer> tokens,
                            List<Integer> lmPos, List<Integer> lmTgt) {
        for (String part : demonstration) {
            switch (part) {
                case "{k}" -> tokens.add(vocab.id(Integer.toString(k)));
                case "{watched}" -> items(vocab, d.watched(), tokens, lmPos, lmTgt, true);
                case "{choice}" -> items(vocab, new long[] {d.choice()}, tokens, lmPos, lmTgt, true);
                default -> tokens.add(vocab.id(part));
            }
        }
    }

    private static void items(Vocabulary vocab, long[] items, List<Integer> tokens,
                              List<Integer> lmPos, List<Integer> lmTgt, boolean target) {
        for (long item : items) {
            int tok = vocab.itemToken(item);
            if (target && !tokens.isEmpty() && tok != Vocabulary.UNK) {
                lmPos.add(tokens.size() - 1);
                lmTgt.add(tok);
            }
            tokens.add(tok);
        }
    }
}
