namespace MlPlatform.Contracts.Protocol;

/// <summary>The tensor datatypes of the Open Inference Protocol (V2).</summary>
public enum TensorDataType : byte
{
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Fp32,
    Fp64,
    Bytes,
}

public static class TensorDataTypes
{
    // Indexed by TensorDataType; the protocol spells them in upper case.
    private static readonly string[] ProtocolNames =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    private static readonly int[] ElementSizes = [1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 0];

    /// <summary>Parses a protocol datatype name such as <c>FP32</c>. Names are case-sensitive, as in the spec.</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out TensorDataType dataType)
    {
        for (var i = 0; i < ProtocolNames.Length; i++)
        {
            if (name.SequenceEqual(ProtocolNames[i]))
            {
                dataType = (TensorDataType)i;
                return true;
            }
        }

        dataType = default;
        return false;
    }

    /// <summary>All names, for error messages that tell a client what it may send.</summary>
    public static string AllNames => string.Join(", ", ProtocolNames);

    extension(TensorDataType dataType)
    {
        /// <summary>The protocol's name for the datatype, for example <c>FP32</c>.</summary>
        public string ProtocolName => ProtocolNames[(int)dataType];

        /// <summary>Bytes per element in the raw layout; 0 for <see cref="TensorDataType.Bytes"/>, whose elements vary in length.</summary>
        public int ElementSize => ElementSizes[(int)dataType];
    }
}
