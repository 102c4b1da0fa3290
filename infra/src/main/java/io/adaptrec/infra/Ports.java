package io.adaptrec.infra;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** Port choices for the local stack; everything binds 127.0.0.1. */
final class Ports {
  static final String HOST = "127.0.0.1";

  private Ports() {}

  /**
   * The port a service binds: an explicit choice must be free (so a second stack fails with a
   * clear message instead of a bind stack trace); without one the well-known default is taken if
   * free, else 0 (any free port). 0 always means "any free port".
   *
   * @param option the CLI option or config key, for the error message
   */
  static int choose(String option, Integer explicit, int preferred) {
    if (explicit != null) {
      if (explicit < 0 || explicit > 65535) {
        throw new IllegalArgumentException(option + " must be 0 (any free port) or 1-65535, got " + explicit);
      }
      if (explicit != 0 && !isFree(explicit)) {
        throw new IllegalArgumentException(option + " " + explicit + " is already in use on " + HOST
            + "; pick another port, or 0 for any free one");
      }
      return explicit;
    }
    return isFree(preferred) ? preferred : 0;
  }

  /** Whether nothing listens on 127.0.0.1:port right now (racy by nature; good enough locally). */
  static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(InetAddress.getByName(HOST), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Whether something accepts TCP connections at host:port within {@code timeoutMs}. */
  static boolean accepts(String host, int port, int timeoutMs) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), timeoutMs);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
