package org.siamese4j.onnx;

/**
 * Where the reader is, as a chain of fields from the model message: rendered ({@code graph.node[12].attribute[0]})
 * only when an error needs it, so reading allocates one small link per message and no text.
 */
final class FieldPath {
    /** The model message itself. */
    static final FieldPath ROOT = new FieldPath(null, null, -1);

    private final FieldPath parent;
    private final String name;
    private final int index;

    private FieldPath(FieldPath parent, String name, int index) {
        this.parent = parent;
        this.name = name;
        this.index = index;
    }

    /** A singular message field of this message, e.g. {@code graph}. */
    FieldPath child(String field) {
        return new FieldPath(this, field, -1);
    }

    /** Element {@code i} of a repeated message field of this message, e.g. {@code node[12]}. */
    FieldPath element(String field, int i) {
        return new FieldPath(this, field, i);
    }

    /** This path, then {@code .field} when {@code field} is not null. */
    String render(String field) {
        StringBuilder sb = new StringBuilder();
        append(sb);
        if (field != null) {
            if (sb.length() > 0) {
                sb.append('.');
            }
            sb.append(field);
        }
        return sb.toString();
    }

    private void append(StringBuilder sb) {
        if (parent == null) {
            return;
        }
        parent.append(sb);
        if (sb.length() > 0) {
            sb.append('.');
        }
        sb.append(name);
        if (index >= 0) {
            sb.append('[').append(index).append(']');
        }
    }

    @Override
    public String toString() {
        return render(null);
    }
}
