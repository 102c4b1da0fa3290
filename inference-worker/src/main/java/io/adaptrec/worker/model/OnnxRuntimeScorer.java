package io.adaptrec.worker.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * One exported RecLM graph (base with one adapter merged) in one ONNX Runtime session, through
 * DJL's OnnxRuntime engine. Thread-safe: ONNX Runtime sessions serve concurrent runs.
 */
final class OnnxRuntimeScorer implements Scorer, AutoCloseable {

    static final String ENGINE = "OnnxRuntime";

    private final Model model;
    private final OrtSession.SessionOptions options;
    private final OnnxExport.BaseArrays base;
    private final float meanBias;
    private final boolean int32Ids;

    private OnnxRuntimeScorer(Model model, OrtSession.SessionOptions options, OnnxExport.BaseArrays base,
                              boolean int32Ids) {
        this.model = model;
        this.options = options;
        this.base = base;
        this.int32Ids = int32Ids;
        double sum = 0;
        for (float b : base.bias()) {
            sum += b;
        }
        this.meanBias = (float) (sum / base.bias().length);
    }

    /** Opens a session on {@code onnx} (bytes written by {@link OnnxExport#export}). */
    static OnnxRuntimeScorer open(byte[] onnx, OnnxExport.BaseArrays base, EngineOptions engine, String version)
            throws IOException {
        boolean int32 = engine.kind() == EngineOptions.Kind.TENSORRT;
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        Model model = Model.newInstance("reclm-" + version, engine.gpu() ? Device.gpu() : Device.cpu(), ENGINE);
        try {
            so.setIntraOpNumThreads(engine.threads());
            so.setInterOpNumThreads(1);
            // Spinning pool threads would take a core from every other role on a small box.
            so.addConfigEntry("session.intra_op.allow_spinning", "0");
            so.addConfigEntry("session.inter_op.allow_spinning", "0");
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            Map<String, Object> opts = new HashMap<>();
            opts.put("sessionOptions", so);
            if (engine.kind() == EngineOptions.Kind.TENSORRT) {
                opts.put("ortDevice", "TensorRT");
            }
            model.load(new ByteArrayInputStream(onnx), opts);
        } catch (OrtException | MalformedModelException | RuntimeException e) {
            model.close();
            so.close();
            throw new IOException("ONNX Runtime (" + engine + ") could not load the exported model of adapter '"
                    + version + "': " + e.getMessage(), e);
        }
        return new OnnxRuntimeScorer(model, so, base, int32);
    }

    @Override
    public Scores score(Batch batch, Ask ask, boolean wantItemLse) {
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDList in = new NDList(
                    ids(sub, batch.ids(), new Shape(batch.n(), batch.t()), "ids"),
                    ids(sub, batch.answer(), new Shape(batch.n(), 1), "answer"),
                    ids(sub, ask.tokens(), new Shape(batch.n(), ask.width()), "candidates"));
            NDList out = model.getBlock().forward(new ParameterStore(sub, false), in, false);
            float[] logits = out.get("cand_logits").toFloatArray();
            if (!ask.fresh().isEmpty()) {
                Scorer.newItemLogits(logits, ask, out.get("hidden").toFloatArray(), base.config().dModel(), meanBias,
                        base.table(), base.params().get(RecLM.TEXT_PROJ));
            }
            return new Scores(logits, wantItemLse ? out.get("item_lse").toFloatArray() : null);
        }
    }

    private NDArray ids(NDManager m, long[] values, Shape shape, String name) {
        NDArray a;
        if (int32Ids) {
            int[] v = new int[values.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = (int) values[i];
            }
            a = m.create(v, shape);
        } else {
            a = m.create(values, shape);
        }
        a.setName(name);
        return a;
    }

    @Override
    public void close() {
        model.close();
        options.close();
    }
}
