package io.adaptrec.infra;

import io.adaptrec.flink.bench.PoolsBenchCommand;
import io.adaptrec.streams.bench.StreamsBenchCommand;
import io.adaptrec.worker.cli.EvalCommand;
import io.adaptrec.worker.cli.ServeCommand;
import io.adaptrec.worker.cli.TrainCommand;
import io.adaptrec.worker.data.MalformedDataException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec}: the single entry point for users (the main class of {@code infra.jar}, run by
 * the {@code ./adaptrec} launcher). infra's own commands run the local stack; every role module
 * contributes its commands as picocli classes, which {@link #build()} registers explicitly.
 */
@Command(name = "adaptrec", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {"AdaptRec Stream: a real-time recommender (Kafka, Kafka Streams, Flink, DJL) implementing AdaptRec.", ""},
    commandListHeading = "%nCommands:%n",
    footer = {"", "Run 'adaptrec COMMAND --help' for a command's options. Quick start: adaptrec demo"})
public final class AdaptrecCli implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  public static void main(String[] args) {
    System.exit(build().execute(args));
  }

  /**
   * The command tree. Role commands are added here by constructor, one line each, when their module
   * provides them; the parent command decides where a command sits (e.g. {@code bench pools}).
   *
   * <ul>
   *   <li>infra: {@code up}, {@code replay}, {@code demo}, {@code topics}, the {@code bench} group
   *   <li>flink-jobs: {@code bench pools} ({@link PoolsBenchCommand})
   *   <li>streams: {@code bench streams} ({@link StreamsBenchCommand})
   *   <li>inference-worker: {@code serve} ({@link ServeCommand}), {@code train} ({@link TrainCommand}), {@code export},
   *       {@code eval} ({@link EvalCommand})
   * </ul>
   */
  public static CommandLine build() {
    CommandLine cli = new CommandLine(new AdaptrecCli());
    cli.addSubcommand("up", new UpCommand());
    cli.addSubcommand("replay", new ReplayCommand());
    cli.addSubcommand("demo", new DemoCommand());
    cli.addSubcommand("topics", new TopicsCommand());
    cli.addSubcommand("registry", new RegistryCommand());
    cli.addSubcommand("flink-submit", new FlinkSubmitCommand());
    cli.addSubcommand("probe", new ProbeCommand());
    cli.addSubcommand("chaos", new io.adaptrec.infra.chaos.ChaosCommand());
    cli.addSubcommand("recommend", new RecommendCommand());
    cli.addSubcommand("rollout", new RolloutCommand());
    cli.addSubcommand("serve", new ServeCommand());
    cli.addSubcommand("train", new TrainCommand());
    cli.addSubcommand("export", new io.adaptrec.worker.cli.ExportCommand());
    cli.addSubcommand("eval", new EvalCommand(new PipelineEval(System.out)));

    CommandLine bench = new CommandLine(new BenchCommand());
    bench.addSubcommand("streams", new StreamsBenchCommand());
    bench.addSubcommand("pools", new PoolsBenchCommand());
    bench.addSubcommand("serving", new ServingBenchCommand());
    bench.addSubcommand("rollout", new RolloutBenchCommand());
    bench.addSubcommand("pipeline", new PipelineBenchCommand());
    cli.addSubcommand("bench", bench);

    // role modules write their own @Command classes; the same --help/--version everywhere
    standardOptionsEverywhere(cli);
    cli.setExecutionExceptionHandler(new ErrorHandler());
    return cli;
  }

  /** Adds {@code --help}/{@code --version} (and the project version) to any command lacking them. */
  static void standardOptionsEverywhere(CommandLine cmd) {
    CommandSpec spec = cmd.getCommandSpec();
    if (!spec.mixinStandardHelpOptions()) {
      spec.mixinStandardHelpOptions(true);
    }
    if (spec.version().length == 0) {
      spec.versionProvider(new VersionInfo());
    }
    cmd.getSubcommands().values().forEach(AdaptrecCli::standardOptionsEverywhere);
  }

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    err.println("adaptrec: name a command.");
    spec.commandLine().usage(err);
    return 2;
  }

  /**
   * Errors a user can act on are one line naming the command, not a stack trace: invalid input
   * (IllegalArgumentException, the convention of every config record here) exits 2, bad data files
   * and runtime failures exit 1. {@code ADAPTREC_DEBUG=1} adds the stack trace.
   */
  static final class ErrorHandler implements IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) {
      PrintWriter err = cmd.getErr();
      String name = cmd.getCommandSpec().qualifiedName();
      if (e instanceof IllegalArgumentException && !(e instanceof MalformedDataException)) {
        err.println(name + ": " + e.getMessage());
        err.println("Run '" + name + " --help' for the options.");
        debug(e, err);
        return 2;
      }
      err.println(name + ": error: " + describe(e));
      if (!debug(e, err)) {
        err.println("(set ADAPTREC_DEBUG=1 for the stack trace)");
      }
      return 1;
    }

    private static String describe(Throwable e) {
      StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage() != null ? e.getMessage() : e.toString()));
      for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
        if (c.getMessage() != null && !sb.toString().contains(c.getMessage())) {
          sb.append("\n  caused by: ").append(c.getMessage());
        }
      }
      return sb.toString();
    }

    private static boolean debug(Exception e, PrintWriter err) {
      String flag = System.getenv("ADAPTREC_DEBUG");
      if (flag != null && !flag.isBlank() && !flag.equals("0")) {
        e.printStackTrace(err);
        return true;
      }
      return false;
    }
  }
}
