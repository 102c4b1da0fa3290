package io.adaptrec.worker.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.EngineOptions;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.ScoreComparison;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The exported engine on a GPU (CUDA, TensorRT execution providers) scores as PyTorch on the CPU.
 * Runs where the build has the providers (mvn -Dgpu) and a GPU answers; elsewhere the GPU cases skip
 * with the reason, and the refusal on a CPU-only build is checked instead.
 */
class OnnxGpuTest {

    private static java.util.EnumSet<OrtProvider> providers() {
        ai.djl.engine.Engine.getEngine("OnnxRuntime");
        return OrtEnvironment.getAvailableProviders();
    }

    @Test
    void aGpuDeviceWithoutTheGpuBuildIsRefusedWithTheFix() throws Exception {
        Assumptions.assumeFalse(providers().contains(OrtProvider.CUDA), "this build has the CUDA provider");
        try (LanguageModel lm = TrainedAdapters.freshModel()) {
            assertThatThrownBy(() -> lm.useEngine(EngineOptions.parse("onnxruntime", "gpu", 1)))
                    .hasMessageContaining("needs ONNX Runtime's CUDA execution provider")
                    .hasMessageContaining("mvn -Dgpu");
            assertThat(lm.engineInUse()).isEqualTo(LanguageModel.ENGINE);   // still serving on PyTorch
        }
    }

    @Test
    void cudaScoresAsPyTorch() throws Exception {
        gpuParity("onnxruntime", OrtProvider.CUDA);
    }

    @Test
    void tensorrtScoresAsPyTorch() throws Exception {
        gpuParity("tensorrt", OrtProvider.TENSOR_RT);
    }

    private void gpuParity(String engine, OrtProvider provider) throws Exception {
        Assumptions.assumeTrue(providers().contains(provider),
                "no " + provider + " execution provider in this build (" + providers() + "): needs mvn -Dgpu and a GPU");
        Assumptions.assumeTrue(java.nio.file.Files.exists(java.nio.file.Path.of("/dev/nvidia0")),
                "no NVIDIA GPU on this machine (/dev/nvidia0 is absent)");
        Verifier.Probe probe = Verifier.probe(io.adaptrec.worker.model.Fixtures.vocabulary(), 256);
        try (LanguageModel ref = TrainedAdapters.freshModel(); LanguageModel gpu = TrainedAdapters.freshModel()) {
            AdapterStore.load(ref, TrainedAdapters.versionDir("v1"));
            AdapterStore.load(gpu, TrainedAdapters.versionDir("v1"));
            gpu.useEngine(EngineOptions.parse(engine, "gpu", 1));
            assertThat(gpu.awaitEngine(Duration.ofMinutes(5)))
                    .as(engine + " session built (CUDA 12 / cuDNN 9 / TensorRT 10 libraries on LD_LIBRARY_PATH; see the log)")
                    .isTrue();
            ScoreComparison c = ScoreComparison.of(List.of(ref.scoreCandidates(probe.prompts(), probe.candidates())),
                    List.of(gpu.scoreCandidates(probe.prompts(), probe.candidates())));
            assertThat(c.maxAbsDifference()).isLessThanOrEqualTo(1e-3);   // GPU kernels (TF32, fused) differ more than CPU
            assertThat(c.sameTopShare()).isGreaterThanOrEqualTo(0.99);
        }
    }
}
