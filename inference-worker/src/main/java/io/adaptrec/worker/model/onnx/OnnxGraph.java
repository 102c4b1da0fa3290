package io.adaptrec.worker.model.onnx;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small builder of ONNX models: initializers, nodes, typed inputs and outputs, written as an
 * ONNX {@code ModelProto} in protobuf wire format (protobuf-java's encoder; the message and
 * field numbers are those of {@code onnx/onnx.proto}, IR version 8). DJL cannot export a model
 * defined in Java, so the project writes its graphs itself; any ONNX reader (ONNX Runtime,
 * TensorRT's parser, {@code onnx.checker}) reads the result.
 *
 * <p>Names are SSA values: {@link #node} returns its output's name, made unique by a counter, so
 * a graph is written top to bottom like the forward pass it mirrors.
 */
public final class OnnxGraph {

    /** ONNX {@code TensorProto.DataType} values used here. */
    public static final int FLOAT = 1;
    public static final int INT32 = 6;
    public static final int INT64 = 7;
    public static final int BOOL = 9;

    /** IR version 8 goes with opset 17 (ONNX 1.12), the first opset with LayerNormalization. */
    public static final long IR_VERSION = 8;
    public static final long OPSET = 17;

    private final String name;
    private final List<byte[]> nodes = new ArrayList<>();
    private final List<byte[]> initializers = new ArrayList<>();
    private final List<byte[]> inputs = new ArrayList<>();
    private final List<byte[]> outputs = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private int counter;

    public OnnxGraph(String name) {
        this.name = name;
    }

    /** A graph input; a dimension is a fixed size (Long) or a symbolic name (String, e.g. "batch"). */
    public String input(String name, int type, Object... dims) {
        inputs.add(valueInfo(name, type, dims));
        return name;
    }

    /** Declares {@code value} (a node's output) a graph output named {@code name}, via Identity. */
    public void output(String value, String name, int type, Object... dims) {
        nodes.add(nodeProto("Identity", List.of(value), name, List.of()));
        outputs.add(valueInfo(name, type, dims));
    }

    /** A float initializer of {@code shape} ({@code values.length} must be its product). */
    public String floats(String name, float[] values, long... shape) {
        ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        String unique = unique(name);
        initializers.add(tensor(unique, FLOAT, raw.array(), shape));
        return unique;
    }

    /** An int64 initializer of {@code shape}; a scalar when {@code shape} is empty. */
    public String longs(String name, long[] values, long... shape) {
        ByteBuffer raw = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        raw.asLongBuffer().put(values);
        String unique = unique(name);
        initializers.add(tensor(unique, INT64, raw.array(), shape));
        return unique;
    }

    /** A float scalar initializer. */
    public String scalar(String name, float value) {
        return floats(name, new float[] {value});
    }

    /** Adds a node with one output and returns that output's name. */
    public String node(String opType, List<String> in, Attr... attrs) {
        String out = unique(opType.toLowerCase());
        nodes.add(nodeProto(opType, in, out, List.of(attrs)));
        return out;
    }

    public String node(String opType, String a, Attr... attrs) {
        return node(opType, List.of(a), attrs);
    }

    public String node(String opType, String a, String b, Attr... attrs) {
        return node(opType, List.of(a, b), attrs);
    }

    /** A key/value pair stored in the model's {@code metadata_props}. */
    public void metadata(String key, String value) {
        metadata.put(key, value);
    }

    /** A node attribute: an int, a float, a list of ints, or a string. */
    public record Attr(String name, Object value) {
        public static Attr i(String name, long v) {
            return new Attr(name, v);
        }

        public static Attr f(String name, float v) {
            return new Attr(name, v);
        }

        public static Attr ints(String name, long... v) {
            return new Attr(name, v);
        }
    }

    /** The whole model: ModelProto with this graph, opset {@link #OPSET} of the default domain. */
    public byte[] toBytes(String producer, String producerVersion) {
        return message(m -> {
            m.writeInt64(1, IR_VERSION);
            m.writeString(2, producer);
            m.writeString(3, producerVersion);
            m.writeByteArray(7, graphProto());
            m.writeByteArray(8, message(o -> {   // OperatorSetIdProto: domain "" (ai.onnx), version
                o.writeString(1, "");
                o.writeInt64(2, OPSET);
            }));
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                m.writeByteArray(14, message(kv -> {   // StringStringEntryProto
                    kv.writeString(1, e.getKey());
                    kv.writeString(2, e.getValue());
                }));
            }
        });
    }

    // ---------------------------------------------------------------- wire format

    private String unique(String base) {
        return base + "_" + counter++;
    }

    private byte[] graphProto() {
        return message(g -> {
            for (byte[] n : nodes) {
                g.writeByteArray(1, n);
            }
            g.writeString(2, name);
            for (byte[] t : initializers) {
                g.writeByteArray(5, t);
            }
            for (byte[] v : inputs) {
                g.writeByteArray(11, v);
            }
            for (byte[] v : outputs) {
                g.writeByteArray(12, v);
            }
        });
    }

    private static byte[] nodeProto(String opType, List<String> in, String out, List<Attr> attrs) {
        return message(n -> {
            for (String s : in) {
                n.writeString(1, s);
            }
            n.writeString(2, out);
            n.writeString(3, out);
            n.writeString(4, opType);
            for (Attr a : attrs) {
                n.writeByteArray(5, attribute(a));
            }
        });
    }

    /** AttributeProto: name = 1, f = 2, i = 3, s = 4, ints = 8, type = 20 (FLOAT 1, INT 2, STRING 3, INTS 7). */
    private static byte[] attribute(Attr a) {
        return message(m -> {
            m.writeString(1, a.name());
            Object v = a.value();
            if (v instanceof Float f) {
                m.writeFloat(2, f);
                m.writeInt32(20, 1);
            } else if (v instanceof Long i) {
                m.writeInt64(3, i);
                m.writeInt32(20, 2);
            } else if (v instanceof String str) {
                m.writeString(4, str);
                m.writeInt32(20, 3);
            } else if (v instanceof long[] ints) {
                for (long x : ints) {
                    m.writeInt64(8, x);
                }
                m.writeInt32(20, 7);
            } else {
                throw new IllegalArgumentException("attribute " + a.name() + ": unsupported value " + v);
            }
        });
    }

    /** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian). */
    private static byte[] tensor(String name, int type, byte[] raw, long[] shape) {
        return message(t -> {
            for (long d : shape) {
                t.writeInt64(1, d);
            }
            t.writeInt32(2, type);
            t.writeString(8, name);
            t.writeByteArray(9, raw);
        });
    }

    /** ValueInfoProto {name = 1, type = 2: TypeProto {tensor_type = 1: {elem_type = 1, shape = 2}}}. */
    private static byte[] valueInfo(String name, int type, Object[] dims) {
        byte[] shape = message(s -> {
            for (Object d : dims) {
                s.writeByteArray(1, message(dim -> {   // TensorShapeProto.Dimension: dim_value = 1, dim_param = 2
                    if (d instanceof Number n) {
                        dim.writeInt64(1, n.longValue());
                    } else {
                        dim.writeString(2, d.toString());
                    }
                }));
            }
        });
        byte[] tensorType = message(tt -> {
            tt.writeInt32(1, type);
            tt.writeByteArray(2, shape);
        });
        return message(v -> {
            v.writeString(1, name);
            v.writeByteArray(2, message(tp -> tp.writeByteArray(1, tensorType)));
        });
    }

    private interface Fields {
        void write(CodedOutputStream out) throws IOException;
    }

    private static byte[] message(Fields fields) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            fields.write(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
