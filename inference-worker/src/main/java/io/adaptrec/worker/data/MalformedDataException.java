package io.adaptrec.worker.data;

import java.nio.file.Path;

/**
 * A dataset file that cannot be read as its format promises. The message always names the file
 * and, where one is to blame, the 1-based line, so a user can open the file at the right place.
 */
public final class MalformedDataException extends RuntimeException {

    private final Path file;
    private final long line;
    private final String reason;

    /**
     * @param line 1-based line number, or 0 when the problem concerns the whole file
     */
    public MalformedDataException(Path file, long line, String reason) {
        this(file, line, reason, null);
    }

    public MalformedDataException(Path file, long line, String reason, Throwable cause) {
        super(format(file, line, reason), cause);
        this.file = file;
        this.line = line;
        this.reason = reason;
    }

    static String format(Path file, long line, String reason) {
        return line > 0 ? file + ":" + line + ": " + reason : file + ": " + reason;
    }

    public Path file() {
        return file;
    }

    /** 1-based line number, 0 when the whole file is at fault (missing, empty, bad header). */
    public long line() {
        return line;
    }

    public String reason() {
        return reason;
    }
}
