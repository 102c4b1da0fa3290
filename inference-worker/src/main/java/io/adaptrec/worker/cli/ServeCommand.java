package io.adaptrec.worker.cli;

import io.adaptrec.worker.serving.ServingConfig;
import io.adaptrec.worker.serving.Worker;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code serve}: answers rec-requests from Kafka until stopped (Ctrl-C / SIGTERM). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve recommendations: rec-requests -> AdaptRec on the live pools -> rec-responses.")
public final class ServeCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1",
            description = "Config file (see inference-worker/config/inference-worker.properties); -Dkey=value overrides.")
    Path config;

    @Option(names = "--set", description = "key=value overriding the config file (repeatable).")
    Map<String, String> set = Map.of();

    @Override
    public Integer call() throws Exception {
        ServingConfig cfg = ServingConfig.load(config, set);
        CountDownLatch stop = new CountDownLatch(1);
        Worker worker = Worker.start(cfg);
        java.lang.Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            worker.close();
            stop.countDown();
        }, "worker-shutdown"));
        System.out.printf("worker %s serving: health http://%s:%d/health/ready, metrics /metrics%n",
                cfg.instanceId(), cfg.httpHost(), worker.httpPort());
        stop.await();
        return 0;
    }
}
