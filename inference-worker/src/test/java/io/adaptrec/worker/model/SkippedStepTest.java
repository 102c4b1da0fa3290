package io.adaptrec.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A step skipped for a non-finite gradient zeroes the gradients in native memory: after the Java
 * side has been garbage-collected and its memory reused, the next backward must see exactly its
 * own gradient. (Zeroing through {@code getGradient().set(zeros)} left the gradient tensor on a
 * Java buffer freed with that handle: the next backward then accumulated into reused memory, and
 * training crashed the JVM soon after a skipped step.)
 */
class SkippedStepTest {

    @Test
    void aSkippedStepLeavesGradientsThatSurviveGarbageCollection() {
        List<String> log = new ArrayList<>();
        try (LanguageModel lm = LanguageModel.create(Fixtures.tinyConfig(), Fixtures.vocabulary(), 3)) {
            RecLMTrainer trainer = new RecLMTrainer(Fixtures.tinyTraining(), log::add);
            lm.net().freezeParameters(false);
            Parameter wpe = lm.net().getParameters().get("wpe");
            try (Trainer tr = trainer.newTrainer(lm, 1e-3f)) {
                for (int round = 0; round < 3; round++) {
                    try (NDManager sub = lm.djlModel().getNDManager().newSubManager()) {
                        try (GradientCollector gc = tr.newGradientCollector()) {
                            gc.backward(sub.create(Float.NaN).mul(wpe.getArray()).sum());
                        }
                        trainer.safeStep(tr, lm);   // non-finite: skipped, gradients zeroed
                        List<ByteBuffer> reuse = new ArrayList<>();
                        for (int i = 0; i < 8; i++) {
                            System.gc();
                            ByteBuffer b = ByteBuffer.allocateDirect((int) wpe.getArray().size() * 4);
                            while (b.hasRemaining()) {
                                b.put((byte) 0x7f);   // what a gradient left on freed memory would pick up
                            }
                            reuse.add(b);
                        }
                        try (GradientCollector gc = tr.newGradientCollector()) {
                            gc.backward(sub.create(1f).mul(wpe.getArray()).sum());   // d/dw = 1 everywhere
                        }
                        try (NDArray g = wpe.getArray().getGradient()) {
                            float[] grad = g.toFloatArray();
                            for (float v : grad) {
                                assertThat(v).as("round %d: gradient after a skipped step", round).isEqualTo(1f);
                            }
                        }
                        trainer.safeStep(tr, lm);   // finite: applied
                        assertThat(reuse).hasSize(8);
                    }
                }
            }
        }
        assertThat(log).filteredOn(l -> l.contains("step skipped")).hasSize(3);
    }
}
