package io.adaptrec.infra;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar (count, rate, ETA) on stderr, or nothing at all for tests and quiet runs. */
final class ProgressBars implements AutoCloseable {
  private final ProgressBar bar;

  private ProgressBars(ProgressBar bar) {
    this.bar = bar;
  }

  static ProgressBars start(boolean show, String task, long total, String unit, PrintStream out) {
    if (!show) {
      return new ProgressBars(null);
    }
    // without a terminal every refresh becomes a new line in a log file: refresh rarely there
    boolean interactive = System.console() != null;
    return new ProgressBars(new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(total)
        .setUnit(" " + unit, 1)
        .setStyle(ProgressBarStyle.ASCII)
        .setMaxRenderedLength(120)
        .showSpeed()
        .setConsumer(new ConsoleProgressBarConsumer(out))
        .setUpdateIntervalMillis(interactive ? 300 : 5_000)
        .build());
  }

  void step(long n) {
    if (bar != null) {
      bar.stepBy(n);
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
