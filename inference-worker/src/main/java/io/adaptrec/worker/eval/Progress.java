package io.adaptrec.worker.eval;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar with rate and ETA on stderr, or nothing at all (tests, piped batch runs). */
final class Progress implements AutoCloseable {

    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    static Progress start(boolean show, String task, long total, String unit) {
        if (!show) {
            return new Progress(null);
        }
        // Without a terminal every refresh becomes a new log line: refresh rarely there.
        boolean interactive = System.console() != null;
        return new Progress(new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setUnit(" " + unit, 1)
                .setStyle(ProgressBarStyle.ASCII)
                .setMaxRenderedLength(140)
                .showSpeed()
                .setUpdateIntervalMillis(interactive ? 500 : 10_000)
                .build());
    }

    void step(long n) {
        if (bar != null) {
            bar.stepBy(n);
        }
    }

    void maxHint(long total) {
        if (bar != null) {
            bar.maxHint(total);
        }
    }

    void message(String text) {
        if (bar != null) {
            bar.setExtraMessage(text);
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
