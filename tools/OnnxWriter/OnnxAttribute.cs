namespace MlPlatform.OnnxWriter;

/// <summary>A node attribute; create one with the static factories.</summary>
public readonly record struct OnnxAttribute
{
    private OnnxAttribute(string name, OnnxAttributeKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Kind = kind;
    }

    /// <summary>The attribute name, for example <c>kernel_shape</c>.</summary>
    public string Name { get; }

    internal OnnxAttributeKind Kind { get; }

    internal long IntValue { get; private init; }

    internal float FloatValue { get; private init; }

    internal string? StringValue { get; private init; }

    internal long[]? IntValues { get; private init; }

    internal float[]? FloatValues { get; private init; }

    public static OnnxAttribute Int(string name, long value) =>
        new(name, OnnxAttributeKind.Int) { IntValue = value };

    public static OnnxAttribute Ints(string name, params long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        // Copied so a caller reusing its array cannot change an attribute already added to a graph.
        return new(name, OnnxAttributeKind.Ints) { IntValues = (long[])values.Clone() };
    }

    public static OnnxAttribute Float(string name, float value) =>
        new(name, OnnxAttributeKind.Float) { FloatValue = value };

    public static OnnxAttribute Floats(string name, params float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new(name, OnnxAttributeKind.Floats) { FloatValues = (float[])values.Clone() };
    }

    public static OnnxAttribute String(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(name, OnnxAttributeKind.String) { StringValue = value };
    }
}

/// <summary>The values are those of ONNX <c>AttributeProto.AttributeType</c>.</summary>
internal enum OnnxAttributeKind
{
    Float = 1,
    Int = 2,
    String = 3,
    Floats = 6,
    Ints = 7,
}
