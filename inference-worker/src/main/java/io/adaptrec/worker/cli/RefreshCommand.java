package io.adaptrec.worker.cli;

import io.adaptrec.worker.serving.ServingConfig;
import io.adaptrec.worker.training.RefreshLoop;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code refresh}: the trainer; fine-tunes LoRA on live interactions and publishes adapters until stopped. */
@Command(name = "refresh", mixinStandardHelpOptions = true,
        description = "Continuous LoRA refresh: live interactions -> fine-tuned adapter -> adapters topic.")
public final class RefreshCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1",
            description = "Config file (see inference-worker/config/inference-worker.properties: refresh.*, adapters.*).")
    Path config;

    @Option(names = "--set", description = "key=value overriding the config file (repeatable).")
    Map<String, String> set = Map.of();

    @Override
    public Integer call() throws Exception {
        ServingConfig cfg = ServingConfig.load(config, set);
        CountDownLatch stop = new CountDownLatch(1);
        RefreshLoop loop = RefreshLoop.start(cfg);
        java.lang.Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            loop.close();
            System.out.printf("trainer stopped after %d rounds%n", loop.rounds().size());
            stop.countDown();
        }, "refresh-shutdown"));
        System.out.printf("trainer %s running: a round every %d new interactions or %d s%n", cfg.refresh().instanceId(),
                cfg.refresh().minNew(), cfg.refresh().intervalMs() / 1000);
        stop.await();
        return 0;
    }
}
