package io.adaptrec.worker.cli;

import io.adaptrec.worker.rollout.Controller;
import io.adaptrec.worker.serving.ServingConfig;
import picocli.CommandLine.Command;

/** {@code control}: the rollout controller; starts experiments for new adapters and decides them until stopped. */
@Command(name = "control", mixinStandardHelpOptions = true,
        description = "Rollout controller: adapters -> verified experiments; experiment-metrics -> decisions on rollouts.")
public final class ControlCommand extends RoleCommand<Controller> {

    @Override
    Controller start(ServingConfig cfg) throws Exception {
        return Controller.start(cfg);
    }

    @Override
    Health health(Controller controller) {
        return new Health("adaptrec.controller", controller::failure, java.util.Map.of(
                "decisions", () -> controller.decisions().size()));
    }

    @Override
    String running(ServingConfig cfg, Controller controller) {
        return "rollout controller " + cfg.rollout().controllerId() + " running: production " + controller.production();
    }
}
