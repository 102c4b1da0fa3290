package io.adaptrec.schemas;

import org.apache.avro.util.ClassSecurityValidator;

/**
 * Lets Avro load this project's generated classes.
 *
 * <p>Since 1.11.5/1.12.1 Avro refuses to load any class named by a schema unless it is trusted
 * (a defence against schemas that name gadget classes), and that includes generated
 * SpecificRecords: reading an {@code Item} fails with "Forbidden io.adaptrec.avro.Item!". Rather
 * than ask every role to pass {@code -Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.adaptrec.avro},
 * the serdes call {@link #trustGenerated()}; only our own package is added, the rest of Avro's
 * policy is kept.
 */
public final class AvroClasses {
  /** Namespace of every generated record, enum and nested type. */
  public static final String PACKAGE = "io.adaptrec.avro";

  private static boolean installed;

  private AvroClasses() {}

  /**
   * Adds {@value #PACKAGE} to Avro's global trusted classes; idempotent. Call it before using the
   * generated classes with Avro outside our serde (e.g. Flink's own Avro type serializer).
   */
  public static synchronized void trustGenerated() {
    if (installed) {
      return;
    }
    ClassSecurityValidator.ClassSecurityPredicate previous = ClassSecurityValidator.getGlobal();
    ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(previous,
        clazz -> clazz.getName().startsWith(PACKAGE + ".")));
    installed = true;
  }
}
