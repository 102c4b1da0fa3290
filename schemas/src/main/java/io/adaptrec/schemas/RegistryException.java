package io.adaptrec.schemas;

/**
 * A schema registry answered with an error, or could not be reached.
 *
 * <p>{@link #errorCode()} is Confluent's {@code error_code} (e.g. 40401 subject not found, 40403
 * schema not found, 409 incompatible schema, 42201 invalid schema); it is -1 when the registry
 * was unreachable.
 */
public class RegistryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int httpStatus;
  private final int errorCode;

  public RegistryException(String message, int httpStatus, int errorCode, Throwable cause) {
    super(message, cause);
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public int errorCode() {
    return errorCode;
  }

  public boolean isNotFound() {
    return httpStatus == 404;
  }

  /**
   * The registry could not answer (unreachable, timed out, or a 5xx): the same request may succeed
   * later, unlike a 4xx about the schema or id itself.
   */
  public boolean isUnavailable() {
    return httpStatus == -1 || httpStatus >= 500;
  }
}
