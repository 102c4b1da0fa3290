package io.adaptrec.infra;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec bench}: the group under which each role module registers its benchmark
 * ({@code bench streams}, {@code bench pools}); see {@link AdaptrecCli#build()}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = "Benchmarks of the roles; each writes a machine-readable JSON report.")
public final class BenchCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getErr().println("adaptrec bench: name a benchmark: "
        + String.join(", ", spec.subcommands().keySet()));
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }
}
