package io.adaptrec.worker.cli;

import io.adaptrec.worker.serving.ServingConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * What {@code serve}, {@code refresh} and {@code control} share: one config file (with
 * {@code --set} overrides), a role started from it, stopped by Ctrl-C / SIGTERM.
 */
abstract class RoleCommand<R extends AutoCloseable> implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1",
            description = "Config file (see inference-worker/config/inference-worker.properties); -Dkey=value overrides.")
    Path config;

    @Option(names = "--set", description = "key=value overriding the config file (repeatable).")
    Map<String, String> set = Map.of();

    /** Starts the role; returns once it runs. */
    abstract R start(ServingConfig cfg) throws Exception;

    /** The line printed once it runs. */
    abstract String running(ServingConfig cfg, R role);

    /** Printed after it stopped (null: nothing). */
    String stopped(R role) {
        return null;
    }

    @Override
    public final Integer call() throws Exception {
        ServingConfig cfg = ServingConfig.load(config, set);
        CountDownLatch stop = new CountDownLatch(1);
        R role = start(cfg);
        java.lang.Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                role.close();
            } catch (Exception e) {
                System.err.println("stopping failed: " + e);
            }
            String s = stopped(role);
            if (s != null) {
                System.out.println(s);
            }
            stop.countDown();
        }, "role-shutdown"));
        System.out.println(running(cfg, role));
        stop.await();
        return 0;
    }
}
