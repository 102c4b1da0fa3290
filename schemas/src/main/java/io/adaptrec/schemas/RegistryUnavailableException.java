package io.adaptrec.schemas;

import org.apache.kafka.common.errors.SerializationException;

/**
 * A record could not be decoded because the schema registry could not be asked for its writer
 * schema (unreachable, timed out, 5xx), not because the record is bad. Retrying later decodes it,
 * so a role must not dead-letter it: the streams role fails the stream thread, which is replaced
 * and reprocesses from the last commit. It extends {@link SerializationException} so every caller
 * that does not tell the two apart behaves as before.
 */
public class RegistryUnavailableException extends SerializationException {
  private static final long serialVersionUID = 1L;

  public RegistryUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Whether {@code t} or one of its causes is a {@code RegistryUnavailableException}. */
  public static boolean in(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof RegistryUnavailableException) {
        return true;
      }
    }
    return false;
  }
}
