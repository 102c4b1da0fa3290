package io.adaptrec.worker.cli;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.eval.EvalConfig;
import io.adaptrec.worker.eval.EvalReport;
import io.adaptrec.worker.eval.EvalRunner;
import io.adaptrec.worker.eval.PopularRecommender;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Recommender;
import io.adaptrec.worker.eval.RecommenderFactory;
import io.adaptrec.worker.eval.ResultStore;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.eval.Stage;
import io.adaptrec.worker.model.RecLMConfig;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.model.TrainConfig;
import io.adaptrec.worker.model.SasRec;
import io.adaptrec.worker.model.SharedStageA;
import io.adaptrec.worker.selection.DemoSelector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.LongStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code eval}: trains (or loads) RecLM and the baselines on a protocol's training split and
 * evaluates every variant on the same candidates, seed by seed (ARCHITECTURE.md section 7).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Offline evaluation of RecLM variants and baselines (HR@1, NDCG@5/20, ValidRatio).")
public final class EvalCommand implements Callable<Integer> {

    /**
     * What {@code --through-pipeline} needs to run the evaluation through the real system. The
     * worker module cannot start Streams or Flink (roles never depend on each other), so the infra
     * CLI, which composes them, supplies the runner.
     *
     * @param model    a model directory to serve, or null to train one with {@code modelConfig} and
     *                 {@code training} on the protocol's training split
     * @param variants the RecLM variants to compare (the pipeline serves the first; see the runner)
     */
    public record PipelineRequest(Dataset data, Protocol protocol, EvalConfig config, Path model,
                                  RecLMConfig modelConfig, java.util.function.LongFunction<TrainConfig> training,
                                  List<RecLMSystem.Variant> variants, Path reportJson) {}

    /** Runs a {@link PipelineRequest}; returns the exit code. */
    public interface PipelineRunner {
        int run(PipelineRequest request) throws Exception;
    }

    private final PipelineRunner pipeline;

    /** Without a pipeline runner (the worker jar alone): {@code --through-pipeline} is refused. */
    public EvalCommand() {
        this(null);
    }

    public EvalCommand(PipelineRunner pipeline) {
        this.pipeline = pipeline;
    }

    @Option(names = "--through-pipeline", description = "Evaluate through the real system on the embedded stack "
            + "(replay into interactions, Streams, Flink exact pools in the model's space, the worker answering "
            + "rec-requests) next to the offline evaluation of the same model; needs the adaptrec CLI.")
    boolean throughPipeline;

    @Option(names = "--dataset", required = true, description = "movielens | generic | synthetic")
    String dataset;

    @Mixin
    DatasetOptions input = new DatasetOptions();

    @Option(names = "--protocol", defaultValue = "llara", description = "llara | loo | both (default: ${DEFAULT-VALUE}).")
    String protocol;

    @Option(names = "--seeds", defaultValue = "3", description = "Number of seeds 1..S (default: ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--variants", split = ",", defaultValue = "adaptrec,similarity,static,none,sasrec,popular",
            description = "Variants: adaptrec, similarity, static, none (each optionally -m<M>, e.g. adaptrec-m9), "
                    + "sequence (RecLM's sequence expert alone: needs --sequence-weight above 0), sasrec, popular "
                    + "(default: ${DEFAULT-VALUE}).")
    List<String> variants;

    @Option(names = "--report-json", description = "Write the JSON report here; with --protocol both, "
            + "one file per protocol with the protocol name inserted before the extension.")
    Path reportJson;

    @Option(names = "--model", description = "Load RecLM from this model directory instead of training it.")
    Path model;

    @Option(names = "--retrain-per-seed", defaultValue = "false",
            description = "Retrain every model for every seed (default: train once, evaluate every seed's candidates).")
    boolean retrainPerSeed;

    @Option(names = "--stage", defaultValue = "test", description = "test | validation (default: ${DEFAULT-VALUE}).")
    String stage;

    @Option(names = "--time-safe", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Time-safe evaluation (default): a query's pools, demonstrations and popularity use only "
                    + "other users' interactions before its target's time, as the live system can; --no-time-safe uses "
                    + "whole training sequences (the earlier behaviour, for comparison).")
    boolean timeSafe;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--ablation", paramLabel = "DIR", description = "Ablation: every RecLM variant listed trains its "
            + "own model, with its own strategy and M in stages B and C (adaptrec: B by similarity, C adaptive), all "
            + "sharing one stage A per training seed; implies --retrain-per-seed. Stage-A models and every finished "
            + "(variant, seed) are kept under DIR, so a stopped run resumes where it stopped (same settings only).")
    Path ablation;

    @Option(names = "--no-progress", description = "Hide the progress bar.")
    boolean noProgress;

    @Mixin
    ModelOptions opts = new ModelOptions();

    @Override
    public Integer call() throws Exception {
        Runtime.configureDjl();
        if (seeds < 1) {
            throw new IllegalArgumentException("--seeds must be >= 1, got " + seeds);
        }
        List<RecLMSystem.Variant> reclm = new ArrayList<>();
        for (String v : variants) {
            if (RecLMSystem.Variant.isRecLM(v)) {
                reclm.add(RecLMSystem.Variant.parse(v, opts.m));
            } else if (!v.equals("sasrec") && !v.equals(PopularRecommender.NAME)) {
                throw new IllegalArgumentException("unknown variant '" + v + "'");
            }
        }
        Dataset data = input.load(DatasetKind.parse(dataset)).dataset();
        List<Protocol> protocols = protocol.equalsIgnoreCase("both")
                ? List.of(Protocol.LLARA, Protocol.LOO) : List.of(Protocol.parse(protocol));
        if (ablation != null && (model != null || throughPipeline)) {
            throw new IllegalArgumentException("--ablation trains its models: it takes neither --model nor --through-pipeline");
        }
        EvalConfig cfg = new EvalConfig(LongStream.rangeClosed(1, seeds).boxed().toList(),
                Stage.valueOf(stage.toUpperCase(java.util.Locale.ROOT)), retrainPerSeed || ablation != null,
                !throughPipeline, 64, !noProgress);
        if (throughPipeline) {
            if (pipeline == null) {
                throw new IllegalArgumentException("--through-pipeline needs the roles composed: run it as './adaptrec eval'");
            }
            if (protocols.size() != 1 || reclm.isEmpty()) {
                throw new IllegalArgumentException("--through-pipeline takes one --protocol and at least one RecLM variant");
            }
            if (reclm.stream().anyMatch(RecLMSystem.Variant::sequenceOnly)) {
                throw new IllegalArgumentException("--through-pipeline serves prompts: the 'sequence' variant is offline only");
            }
            return pipeline.run(new PipelineRequest(data, protocols.get(0), cfg, model, opts.model(), opts::training,
                    reclm, reportJson));
        }
        long started = System.nanoTime();
        for (Protocol p : protocols) {
            Split split = Split.create(data, p).withTimeSafety(timeSafe);
            if (model != null) {
                checkModelFits(model, p);
            }
            Map<String, RecommenderFactory> factories = new LinkedHashMap<>();
            ResultStore store = null;
            if (ablation != null) {
                Path dir = ablation.resolve(p.cliName() + "-" + cfg.stage().cliName());
                checkSettings(dir, data.name(), p);
                store = new ResultStore(dir);
                SharedStageA stageA = new SharedStageA(dir, opts.model(), System.err::println);
                for (RecLMSystem.Variant v : reclm) {
                    factories.put(v.name(), (td, seed) -> {
                        TrainConfig tc = opts.training(trainSeed(seed)).withM(v.m());
                        RecLMSystem sys = RecLMSystem.trainPrompts(stageA.model(td, seed, tc), td, tc,
                                DemoSelector.Config.defaults(), v.strategy(), System.err::println, (a, b, c) -> { });
                        return sys.recommenders(List.of(v));
                    });
                }
            } else if (!reclm.isEmpty()) {
                factories.put("reclm", (td, seed) -> {
                    RecLMSystem sys = model != null
                            ? RecLMSystem.load(model, td, opts.training(trainSeed(seed)).historyLen())
                            : RecLMSystem.train(td, opts.model(), opts.training(trainSeed(seed)), System.err::println);
                    return sys.recommenders(reclm);
                });
            }
            if (variants.contains("sasrec")) {
                factories.put("sasrec", (td, seed) -> List.<Recommender>of(
                        SasRec.train(td, opts.model(), opts.training(trainSeed(seed)), System.err::println)));
            }
            if (variants.contains(PopularRecommender.NAME)) {
                factories.put(PopularRecommender.NAME, PopularRecommender.factory());
            }
            EvalReport report = new EvalRunner(cfg, System.out).run(split, factories, store);
            if (reportJson != null) {
                Path file = protocols.size() == 1 ? reportJson : withSuffix(reportJson, p.cliName());
                report.writeJson(file);
                System.out.println("report: " + file.toAbsolutePath());
            }
        }
        System.out.printf("eval finished in %.1f s%n", (System.nanoTime() - started) / 1e9);
        return 0;
    }

    /**
     * The training seed of evaluation seed {@code seed}: the seed itself unless {@code --train-seed S}
     * was given, then S for the first and S + k for the (k+1)-th retraining.
     */
    long trainSeed(long seed) {
        boolean given = spec != null && spec.commandLine().getParseResult() != null
                && spec.commandLine().getParseResult().hasMatchedOption("--train-seed");
        return given ? opts.seed + seed - 1 : seed;
    }

    /**
     * Refuses a model trained for another protocol or on part of the data: its training may have seen
     * this split's test users or targets (a loo model has seen llara's test users).
     */
    static void checkModelFits(Path model, Protocol p) throws java.io.IOException {
        Path info = model.resolve(RecLMSystem.TRAINING_JSON);
        if (!java.nio.file.Files.isRegularFile(info)) {
            throw new IllegalArgumentException("--model " + model + " has no " + RecLMSystem.TRAINING_JSON
                    + ": cannot tell which split it was trained on; train it with 'adaptrec train --protocol "
                    + p.cliName() + "'");
        }
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(info.toFile());
        String trained = tree.path("protocol").asText("");
        double past = tree.path("past_fraction").asDouble(1);
        if (!trained.equals(p.cliName()) || past != 1) {
            throw new IllegalArgumentException("--model " + model + " was trained for protocol '" + trained + "'"
                    + (past != 1 ? " on the earliest " + past + " of the data" : "") + ", not for this evaluation's '"
                    + p.cliName() + "' split on all of it: its training may have seen this split's test users or targets");
        }
    }

    /**
     * An ablation directory holds results of one setting only: the first run writes {@code settings.json},
     * a later run with other settings (dataset, protocol, time safety, model, training schedule) is refused
     * rather than mixed with it.
     */
    void checkSettings(Path dir, String datasetName, Protocol p) throws java.io.IOException {
        Map<String, String> now = new LinkedHashMap<>();   // strings only, so that a JSON round trip compares equal
        now.put("dataset", datasetName);
        now.put("protocol", p.cliName());
        now.put("time_safe", String.valueOf(timeSafe));
        now.put("model", opts.model().toString());
        now.put("training", opts.training(0).toString());
        now.put("train_seed_of_seed_1", String.valueOf(trainSeed(1)));
        now.put("selection", DemoSelector.Config.defaults().toString());
        Path file = dir.resolve("settings.json");
        if (java.nio.file.Files.isRegularFile(file)) {
            Map<?, ?> before = new com.fasterxml.jackson.databind.ObjectMapper().readValue(file.toFile(), Map.class);
            if (!before.equals(now)) {
                throw new IllegalArgumentException("--ablation " + dir + " holds results of other settings: "
                        + before + "; now: " + now + ". Use another directory (or delete that one).");
            }
        } else {
            io.adaptrec.worker.eval.JsonReport.write(file, now);
        }
    }

    static Path withSuffix(Path file, String suffix) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String out = dot > 0 ? name.substring(0, dot) + "-" + suffix + name.substring(dot) : name + "-" + suffix;
        return file.resolveSibling(out);
    }
}
