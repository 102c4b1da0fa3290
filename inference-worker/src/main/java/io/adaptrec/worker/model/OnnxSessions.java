package io.adaptrec.worker.model;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exported engines of one {@link LanguageModel}: one ONNX Runtime session per served adapter
 * (the in-place one and every arm), keyed by adapter generation, built in the background.
 *
 * <p>{@link #scorerFor} answers a session only while every served adapter has one, so an
 * experiment's arms are always scored by the same engine; otherwise it starts the missing builds
 * and answers null (the caller scores on PyTorch: serving never waits for a build). A build copies
 * its adapter's arrays on the calling thread, then exports and opens the session on the builder
 * thread; the session is installed, and sessions of adapters no longer served are closed, under
 * the model's write lock, so no batch ever runs on a closed session.
 */
final class OnnxSessions implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OnnxSessions.class);

    private final LanguageModel lm;
    private final EngineOptions engine;
    private final Map<Long, OnnxRuntimeScorer> ready = new ConcurrentHashMap<>();
    private final Set<Long> started = ConcurrentHashMap.newKeySet();
    private final AtomicLong builds = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final ExecutorService builder = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "onnx-engine-build");
        t.setDaemon(true);
        return t;
    });
    private volatile OnnxExport.BaseArrays base;

    OnnxSessions(LanguageModel lm, EngineOptions engine) {
        checkProviders(engine);
        this.lm = lm;
        this.engine = engine;
    }

    /** ONNX Runtime's execution providers in this build (CPU; with the -Dgpu build also CUDA, TensorRT). */
    static java.util.EnumSet<ai.onnxruntime.OrtProvider> providers() {
        ai.djl.engine.Engine.getEngine(OnnxRuntimeScorer.ENGINE);   // DJL creates the process's ORT environment first
        return ai.onnxruntime.OrtEnvironment.getAvailableProviders();
    }

    /** Fails at configuration time, not at the first build, when the device's provider is missing. */
    private static void checkProviders(EngineOptions engine) {
        if (!engine.gpu()) {
            return;
        }
        ai.onnxruntime.OrtProvider want = engine.kind() == EngineOptions.Kind.TENSORRT
                ? ai.onnxruntime.OrtProvider.TENSOR_RT : ai.onnxruntime.OrtProvider.CUDA;
        var have = providers();
        if (!have.contains(want)) {
            throw new IllegalStateException("engine " + engine + " needs ONNX Runtime's " + want + " execution provider, "
                    + "but this build has only " + have + ": build with 'mvn -Dgpu install' (onnxruntime_gpu) and run on a "
                    + "machine with a CUDA 12 driver, or set serving.device=cpu");
        }
    }

    EngineOptions engine() {
        return engine;
    }

    /**
     * The session for adapter {@code generation} if every served adapter has one; null otherwise,
     * after starting the builds that are missing. Called under the model's read lock.
     */
    Scorer scorerFor(long generation) {
        boolean all = true;
        for (LanguageModel.Served s : lm.served()) {
            if (!ready.containsKey(s.generation())) {
                all = false;
                if (started.add(s.generation())) {
                    start(s);
                }
            }
        }
        return all ? ready.get(generation) : null;
    }

    /** True when the exported engine serves every adapter now loaded. */
    boolean servesAll() {
        List<LanguageModel.Served> served = lm.served();
        return !served.isEmpty() && served.stream().allMatch(s -> ready.containsKey(s.generation()));
    }

    long builds() {
        return builds.get();
    }

    long failures() {
        return failures.get();
    }

    private void start(LanguageModel.Served s) {
        OnnxExport.BaseArrays b = base;
        if (b == null) {
            b = lm.baseArrays();
            base = b;
        }
        Map<String, float[]> lora = s.lora().get();
        if (lora == null) {   // removed meanwhile
            return;
        }
        OnnxExport.BaseArrays arrays = b;
        builder.execute(() -> build(arrays, s, lora));
    }

    private void build(OnnxExport.BaseArrays arrays, LanguageModel.Served s, Map<String, float[]> lora) {
        long t0 = System.nanoTime();
        try {
            byte[] onnx = OnnxExport.export(arrays, lora, engine.kind() == EngineOptions.Kind.TENSORRT, s.version());
            OnnxRuntimeScorer scorer = OnnxRuntimeScorer.open(onnx, arrays, engine, s.version());
            lm.underWriteLock(() -> {
                // counted before it is visible: whoever sees the session serve also sees it counted
                builds.incrementAndGet();
                ready.put(s.generation(), scorer);
                retireUnserved();
            });
            LOG.info("{} engine for adapter '{}' built in {} ms ({} KB); serving on it once every adapter has one: {}",
                    engine, s.version(), (System.nanoTime() - t0) / 1_000_000, onnx.length / 1024, servesAll());
        } catch (Exception | LinkageError e) {
            failures.incrementAndGet();
            LOG.error("{} engine for adapter '{}' failed to build; scoring stays on PyTorch: {}", engine, s.version(),
                    e.toString(), e);
        }
    }

    /** Closes sessions of adapters no longer served. Caller holds the model's write lock. */
    void retireUnserved() {
        Set<Long> served = new HashSet<>();
        for (LanguageModel.Served s : lm.served()) {
            served.add(s.generation());
        }
        ready.entrySet().removeIf(e -> {
            if (served.contains(e.getKey())) {
                return false;
            }
            e.getValue().close();
            return true;
        });
        started.retainAll(served);
        started.addAll(ready.keySet());
    }

    @Override
    public void close() {
        builder.shutdownNow();
        try {
            builder.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ready.values().forEach(OnnxRuntimeScorer::close);
        ready.clear();
    }
}
