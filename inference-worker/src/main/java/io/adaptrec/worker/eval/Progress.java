package io.adaptrec.worker.eval;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar with rate and ETA on stderr (or a given stream), or nothing at all (tests, piped
 * batch runs). Shared by every long-running command (eval here, replay in infra).
 */
public final class Progress implements AutoCloseable {

    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    public static Progress start(boolean show, String task, long total, String unit) {
        return start(show, task, total, unit, System.err);
    }

    public static Progress start(boolean show, String task, long total, String unit, PrintStream out) {
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
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .setUpdateIntervalMillis(interactive ? 500 : 10_000)
                .build());
    }

    public void step(long n) {
        if (bar != null) {
            bar.stepBy(n);
        }
    }

    public void maxHint(long total) {
        if (bar != null) {
            bar.maxHint(total);
        }
    }

    public void message(String text) {
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
