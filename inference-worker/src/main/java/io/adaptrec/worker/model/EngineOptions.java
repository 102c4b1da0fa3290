package io.adaptrec.worker.model;

import java.util.Locale;

/**
 * Which engine scores prompts, on which device, with how many intra-op threads.
 *
 * <ul>
 *   <li>{@code pytorch}: the Java-defined network on DJL's PyTorch engine (trains, and serves any
 *       adapter at once, transient probes included).</li>
 *   <li>{@code onnxruntime}: every served adapter merged into the base and exported to ONNX
 *       ({@link OnnxExport}), run by DJL's OnnxRuntime engine; on {@code gpu} with the CUDA
 *       execution provider.</li>
 *   <li>{@code tensorrt}: the same ONNX graphs through ONNX Runtime's TensorRT execution provider
 *       (GPU only; needs the {@code onnxruntime_gpu} build, Maven profile {@code gpu}).</li>
 * </ul>
 * Until an exported engine serves every loaded adapter, scoring stays on PyTorch, so serving never
 * waits for a build and all arms of an experiment are served by the same engine.
 */
public record EngineOptions(Kind kind, boolean gpu, int threads) {

    public enum Kind {
        PYTORCH, ONNXRUNTIME, TENSORRT;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final EngineOptions PYTORCH_CPU = new EngineOptions(Kind.PYTORCH, false, 1);

    public EngineOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("engine threads must be >= 1, got " + threads);
        }
        if (kind == Kind.TENSORRT && !gpu) {
            throw new IllegalArgumentException("engine tensorrt runs on a GPU only: set device=gpu, or use engine=onnxruntime on the CPU");
        }
    }

    /** Parses {@code pytorch | onnxruntime | tensorrt} and {@code cpu | gpu}. */
    public static EngineOptions parse(String engine, String device, int threads) {
        Kind kind;
        try {
            kind = Kind.valueOf(engine.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("engine must be pytorch | onnxruntime | tensorrt, got '" + engine + "'");
        }
        String d = device.trim().toLowerCase(Locale.ROOT);
        if (!d.equals("cpu") && !d.equals("gpu")) {
            throw new IllegalArgumentException("device must be cpu | gpu, got '" + device + "'");
        }
        return new EngineOptions(kind, d.equals("gpu"), threads);
    }

    public boolean exported() {
        return kind != Kind.PYTORCH;
    }

    @Override
    public String toString() {
        return kind.key() + "/" + (gpu ? "gpu" : "cpu") + " x" + threads;
    }
}
