package io.adaptrec.worker.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides what a malformed line costs: in strict mode the whole load, in lenient mode one
 * counted, reported line. Loaders funnel every per-line problem through here so both modes
 * behave identically across formats.
 */
final class LineProblems {

    /** Enough examples to diagnose a systematic problem without flooding the report. */
    static final int MAX_KEPT = 20;

    private static final Logger LOG = LoggerFactory.getLogger(LineProblems.class);

    private final boolean lenient;
    private final List<String> kept = new ArrayList<>();
    private long skipped;
    private long linesRead;

    LineProblems(boolean lenient) {
        this.lenient = lenient;
    }

    void lineRead() {
        linesRead++;
    }

    /** Throws in strict mode; otherwise records the problem and returns so the caller skips the line. */
    void reject(Path file, long line, String reason) {
        if (!lenient) {
            throw new MalformedDataException(file, line, reason);
        }
        skipped++;
        String message = MalformedDataException.format(file, line, reason);
        if (kept.size() < MAX_KEPT) {
            kept.add(message);
            LOG.warn("skipping malformed line: {}", message);
        }
    }

    LoadReport report(String dataset, List<String> notes) {
        List<String> problems = new ArrayList<>(kept);
        if (skipped > kept.size()) {
            problems.add("... and " + (skipped - kept.size()) + " more");
        }
        return new LoadReport(dataset, linesRead, skipped, problems, notes);
    }
}
