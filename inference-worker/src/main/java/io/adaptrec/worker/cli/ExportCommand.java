package io.adaptrec.worker.cli;

import io.adaptrec.worker.adapters.Verifier;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.EngineOptions;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.model.ScoreComparison;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code export}: the base with one adapter merged (W + (alpha / r) B A), as an ONNX file any ONNX
 * reader serves; then the file's own check: ONNX Runtime on the CPU must score probe prompts as
 * the PyTorch network does (max |difference| within 1e-4, same rankings), else the command fails.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export RecLM with an adapter merged to ONNX (opset 17; dynamic batch, sequence and candidate axes;",
            "inputs ids, answer, candidates; outputs cand_logits, item_lse, hidden), then check it on ONNX Runtime."},
        footer = {"", "Example:", "  adaptrec export --model /tmp/reclm-ml100k --out /tmp/reclm.onnx"})
public final class ExportCommand implements Callable<Integer> {

    static final double TOLERANCE = 1e-4;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory (train --out DIR).")
    Path model;

    @Option(names = "--adapter", paramLabel = "VERSION",
            description = "Adapter to merge: a version under DIR/adapters, or 'base' for none (default: adapters/CURRENT).")
    String adapter;

    @Option(names = "--out", required = true, paramLabel = "FILE.onnx", description = "ONNX file to write.")
    Path out;

    @Option(names = "--int32-ids", description = "Declare int32 inputs (TensorRT); cast to int64 inside the graph.")
    boolean int32;

    @Option(names = "--check-prompts", defaultValue = "256", description = "Probe prompts scored by both engines to check the file; 0 skips (default: ${DEFAULT-VALUE}).")
    int checkPrompts;

    @Override
    public Integer call() throws Exception {
        Runtime.configureDjl();
        try (LanguageModel lm = adapter == null ? RecLMSystem.loadModel(model) : LanguageModel.loadBase(model)) {
            if (adapter != null && !adapter.equals(LanguageModel.BASE)) {
                AdapterStore.load(lm, model.resolve(RecLMSystem.ADAPTERS).resolve(adapter));
            }
            long t0 = System.nanoTime();
            byte[] onnx = lm.exportOnnx(null, int32);
            Path parent = out.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.write(out, onnx);
            System.out.printf("exported adapter '%s' merged into the base: %s (%.1f MB, %d ms)%n", lm.adapterVersion(),
                    out.toAbsolutePath(), onnx.length / 1e6, (System.nanoTime() - t0) / 1_000_000);
            if (checkPrompts == 0) {
                return 0;
            }
            Verifier.Probe probe = Verifier.probe(lm.vocabulary(), checkPrompts);
            float[][] want = lm.scoreCandidates(probe.prompts(), probe.candidates());
            lm.useEngine(EngineOptions.parse("onnxruntime", "cpu", 1));   // exports the same graph again, on its own
            if (!lm.awaitEngine(Duration.ofMinutes(5))) {
                System.err.println("export: ONNX Runtime could not load the exported model (see the error above)");
                return 1;
            }
            float[][] got = lm.scoreCandidates(probe.prompts(), probe.candidates());
            ScoreComparison c = ScoreComparison.of(List.of(want), List.of(got));
            boolean ok = c.maxAbsDifference() <= TOLERANCE;
            System.out.printf("check: %d probe prompts x %d candidates on ONNX Runtime (CPU) vs PyTorch: max |score difference| "
                    + "%.2e (limit %.0e), same top candidate in %d of %d -> %s (the int64 form of the graph; --int32-ids "
                    + "only adds input casts)%n", want.length, want[0].length, c.maxAbsDifference(), TOLERANCE, c.sameTop(),
                    c.prompts(), ok ? "OK" : "FAILED");
            return ok ? 0 : 1;
        }
    }
}
