package io.adaptrec.worker;

import io.adaptrec.worker.cli.ControlCommand;
import io.adaptrec.worker.cli.EvalCommand;
import io.adaptrec.worker.cli.RefreshCommand;
import io.adaptrec.worker.cli.RolloutSimulateCommand;
import io.adaptrec.worker.cli.ServeCommand;
import io.adaptrec.worker.cli.ExportCommand;
import io.adaptrec.worker.cli.TrainCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the inference-worker jar: {@code serve}, {@code refresh}, {@code control}, {@code train}, {@code export}, {@code eval}, {@code simulate}. */
@Command(name = "inference-worker", mixinStandardHelpOptions = true,
        subcommands = {ServeCommand.class, RefreshCommand.class, ControlCommand.class, TrainCommand.class,
                ExportCommand.class, EvalCommand.class, RolloutSimulateCommand.class},
        description = "AdaptRec inference worker: serving, continuous refresh, rollout control, RecLM training and offline evaluation.")
public final class WorkerApp implements Runnable {

    static {
        // the jar ships its own log configuration; an explicit -Dlog4j2.configurationFile wins
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "classpath:log4j2-worker.properties");
        }
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new WorkerApp()).execute(args));
    }
}
