package io.adaptrec.schemas;

import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The Confluent wire format: byte 0 is the magic byte 0x00, bytes 1-4 the big-endian global
 * schema id, the rest the Avro binary encoding of the datum under that schema.
 */
public final class WireFormat {
  public static final byte MAGIC_BYTE = 0x0;
  public static final int HEADER_SIZE = 5;

  private WireFormat() {}

  /**
   * The schema id in {@code bytes}' header, e.g. to label a dead letter.
   *
   * @throws SerializationException naming {@code where} when the bytes are not in this format
   */
  public static int schemaId(byte[] bytes, String where) {
    if (bytes.length < HEADER_SIZE) {
      throw new SerializationException("Not Confluent wire format in " + where + ": " + bytes.length
          + " bytes, need at least " + HEADER_SIZE + " (magic byte + 4-byte schema id)");
    }
    if (bytes[0] != MAGIC_BYTE) {
      throw new SerializationException(String.format(
          "Unknown magic byte 0x%02x in %s: expected 0x00 (Confluent wire format); was this written by another serializer?",
          bytes[0] & 0xff, where));
    }
    return ByteBuffer.wrap(bytes, 1, 4).getInt();
  }
}
