package io.adaptrec.worker.cli;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.eval.TrainingData;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.model.TrainConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code train}: builds the model directory the worker serves (base + LoRA adapter + tokenizer). */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train RecLM (base pre-training, then self-adaptive LoRA fine-tuning) and save it.")
public final class TrainCommand implements Callable<Integer> {

    @Option(names = "--dataset", required = true, description = "movielens | generic | synthetic")
    String dataset;

    @Mixin
    DatasetOptions input = new DatasetOptions();

    @Option(names = "--out", required = true, description = "Model directory to write.")
    Path out;

    @Option(names = "--protocol", defaultValue = "loo",
            description = "Training split: loo (all users, last two items held out) or llara (default: ${DEFAULT-VALUE}).")
    String protocol;

    @Option(names = "--adapter-version", defaultValue = "v1", description = "Adapter version name (default: ${DEFAULT-VALUE}).")
    String adapterVersion;

    @Option(names = "--past-fraction", defaultValue = "1", description = "Train on the earliest fraction of the "
            + "interactions by event time only, e.g. 0.9 to keep the rest unseen for 'bench rollout --live-fraction 0.1' "
            + "(default: ${DEFAULT-VALUE}: all).")
    double pastFraction;

    @Mixin
    ModelOptions opts = new ModelOptions();

    @Override
    public Integer call() throws Exception {
        Runtime.configureDjl();
        Dataset data = input.load(DatasetKind.parse(dataset)).dataset();
        double secs = trainAndSave(data, Protocol.parse(protocol), pastFraction, opts, out, adapterVersion,
                System.out::println);
        System.out.printf("trained in %.1f s; model written to %s%n", secs, out.toAbsolutePath());
        return 0;
    }

    /**
     * Trains RecLM on the earliest {@code pastFraction} of {@code all} (by event time) and saves the
     * model directory the worker serves, with a {@code training.json} describing how; the one
     * training path of {@code train} and {@code demo}. Returns the training seconds.
     */
    public static double trainAndSave(Dataset all, Protocol p, double pastFraction, ModelOptions opts, Path out,
                                      String adapterVersion, java.util.function.Consumer<String> log) throws IOException {
        Dataset data = all.earliest(pastFraction);
        Split split = Split.create(data, p);
        log.accept(split.summary());
        TrainConfig tc = opts.training(opts.seed);
        TrainingData td = split.trainingData(tc.seed());
        long t0 = System.nanoTime();
        try (RecLMSystem sys = RecLMSystem.train(td, opts.model(), tc, log)) {
            double secs = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dataset", data.name());
            info.put("protocol", p.cliName());
            info.put("past_fraction", pastFraction);
            info.put("train_seconds", secs);
            info.put("created_at", Instant.now().toString());
            info.put("model_config", opts.model());
            info.put("train_config", tc);
            sys.save(out, adapterVersion, info);
            return secs;
        }
    }
}
