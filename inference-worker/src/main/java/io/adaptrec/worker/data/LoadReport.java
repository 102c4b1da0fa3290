package io.adaptrec.worker.data;

import java.util.List;

/**
 * What a load did besides returning the data: how many lines it read, how many malformed ones it
 * skipped (always 0 in strict mode, which fails instead), a sample of the problems and notes such
 * as the timestamp unit it detected.
 *
 * @param problems up to {@link LineProblems#MAX_KEPT} "file:line: reason" messages, then a count
 */
public record LoadReport(String dataset, long linesRead, long skippedLines, List<String> problems,
        List<String> notes) {

    public LoadReport {
        problems = List.copyOf(problems);
        notes = List.copyOf(notes);
    }

    /** One line for logs and CLI output. */
    public String summary() {
        StringBuilder s = new StringBuilder()
                .append(dataset).append(": ").append(linesRead).append(" lines read, ")
                .append(skippedLines).append(" skipped");
        notes.forEach(n -> s.append("; ").append(n));
        return s.toString();
    }
}
