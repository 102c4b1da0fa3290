package io.adaptrec.worker.cli;

import io.adaptrec.worker.serving.ServingConfig;
import io.adaptrec.worker.serving.Worker;
import picocli.CommandLine.Command;

/** {@code serve}: answers rec-requests from Kafka until stopped (Ctrl-C / SIGTERM). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve recommendations: rec-requests -> AdaptRec on the live pools -> rec-responses.")
public final class ServeCommand extends RoleCommand<Worker> {

    @Override
    Worker start(ServingConfig cfg) throws Exception {
        return Worker.start(cfg);
    }

    @Override
    String running(ServingConfig cfg, Worker worker) {
        return String.format("worker %s serving: health http://%s:%d/health/ready, metrics /metrics", cfg.instanceId(),
                cfg.httpHost(), worker.httpPort());
    }
}
