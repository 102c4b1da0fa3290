package io.adaptrec.worker.cli;

import io.adaptrec.worker.serving.ServingConfig;
import io.adaptrec.worker.training.RefreshLoop;
import picocli.CommandLine.Command;

/** {@code refresh}: the trainer; fine-tunes LoRA on live interactions and publishes adapters until stopped. */
@Command(name = "refresh", mixinStandardHelpOptions = true,
        description = "Continuous LoRA refresh: live interactions -> fine-tuned adapter -> adapters topic.")
public final class RefreshCommand extends RoleCommand<RefreshLoop> {

    @Override
    RefreshLoop start(ServingConfig cfg) throws Exception {
        return RefreshLoop.start(cfg);
    }

    @Override
    String running(ServingConfig cfg, RefreshLoop loop) {
        return String.format("trainer %s running: a round every %d new interactions or %d s", cfg.refresh().instanceId(),
                cfg.refresh().minNew(), cfg.refresh().intervalMs() / 1000);
    }

    @Override
    Health health(RefreshLoop loop) {
        return new Health("adaptrec.trainer", loop::failure, java.util.Map.of(
                "rounds", () -> loop.rounds().size(),
                "rounds.aborted", loop::abortedRounds,
                "examples.pending", loop::pendingExamples,
                "examples.skipped", loop::skipped));
    }

    @Override
    String stopped(RefreshLoop loop) {
        return "trainer stopped after " + loop.rounds().size() + " rounds";
    }
}
