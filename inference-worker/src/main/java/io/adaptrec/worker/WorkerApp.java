package io.adaptrec.worker;

import io.adaptrec.worker.cli.EvalCommand;
import io.adaptrec.worker.cli.TrainCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the inference-worker jar. Serving arrives later; today: {@code train} and {@code eval}. */
@Command(name = "inference-worker", mixinStandardHelpOptions = true,
        subcommands = {TrainCommand.class, EvalCommand.class},
        description = "AdaptRec inference worker: RecLM training and offline evaluation.")
public final class WorkerApp implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new WorkerApp()).execute(args));
    }
}
