package io.adaptrec.worker.cli;

import io.adaptrec.worker.rollout.Controller;
import io.adaptrec.worker.serving.ServingConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code control}: the rollout controller; starts experiments for new adapters and decides them until stopped. */
@Command(name = "control", mixinStandardHelpOptions = true,
        description = "Rollout controller: adapters -> verified experiments; experiment-metrics -> decisions on rollouts.")
public final class ControlCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1",
            description = "Config file (see inference-worker/config/inference-worker.properties: rollout.*, adapters.*).")
    Path config;

    @Option(names = "--set", description = "key=value overriding the config file (repeatable).")
    Map<String, String> set = Map.of();

    @Override
    public Integer call() throws Exception {
        ServingConfig cfg = ServingConfig.load(config, set);
        CountDownLatch stop = new CountDownLatch(1);
        Controller controller = Controller.start(cfg);
        java.lang.Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            controller.close();
            stop.countDown();
        }, "controller-shutdown"));
        System.out.printf("rollout controller %s running: production %s%n", cfg.rollout().controllerId(),
                controller.production());
        stop.await();
        return 0;
    }
}
