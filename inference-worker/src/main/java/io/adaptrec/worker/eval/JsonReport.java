package io.adaptrec.worker.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** How every benchmark and evaluation writes its JSON report: indented, parent directories created. */
public final class JsonReport {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport() {}

    /** {@code tree} (maps, lists, numbers, strings) as indented JSON. */
    public static String render(Object tree) {
        try {
            return JSON.writeValueAsString(tree);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot render the report as JSON", e);
        }
    }

    /** Writes {@code tree} to {@code file}, creating its directory. */
    public static void write(Path file, Object tree) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, render(tree) + System.lineSeparator());
    }
}
