using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Contracts.Tests;

/// <summary>Tensors, bodies and raw layouts built by hand, independent of the codec under test.</summary>
internal static class TestData
{
    public static readonly TensorDataType[] AllDataTypes = Enum.GetValues<TensorDataType>();

    public static IEnumerable<object[]> DataTypes()
    {
        foreach (var dataType in AllDataTypes)
        {
            yield return [dataType];
        }
    }

    public static IEnumerable<object[]> DataTypesAndEncodings()
    {
        foreach (var dataType in AllDataTypes)
        {
            yield return [dataType, false];
            yield return [dataType, true];
        }
    }

    /// <summary>Little-endian raw bytes of the values, whatever the machine's byte order.</summary>
    public static byte[] Le<T>(params T[] values)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            var size = Unsafe.SizeOf<T>();
            for (var i = 0; i < bytes.Length; i += size)
            {
                bytes.AsSpan(i, size).Reverse();
            }
        }

        return bytes;
    }

    /// <summary>The BYTES layout of UTF-8 strings.</summary>
    public static byte[] Strings(params string[] values)
    {
        var elements = new byte[values.Length][];
        for (var i = 0; i < values.Length; i++)
        {
            elements[i] = Encoding.UTF8.GetBytes(values[i]);
        }

        return RawElements(elements);
    }

    /// <summary>The BYTES layout of arbitrary byte strings.</summary>
    public static byte[] RawElements(params byte[][] elements)
    {
        var result = new List<byte>();
        foreach (var element in elements)
        {
            var prefix = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)element.Length);
            result.AddRange(prefix);
            result.AddRange(element);
        }

        return [.. result];
    }

    /// <summary>A tensor of each datatype holding its edge values: extremes, zero, signed zero, NaN, infinities, escapes.</summary>
    public static InferenceTensor Sample(TensorDataType dataType, string name = "tensor")
    {
        (long[] shape, byte[] data) = dataType switch
        {
            TensorDataType.Bool => (new long[] { 2, 3 }, new byte[] { 1, 0, 1, 1, 0, 0 }),
            TensorDataType.UInt8 => ([2, 3], new byte[] { 0, 1, 127, 128, 254, 255 }),
            TensorDataType.UInt16 => ([2, 3], Le<ushort>(0, 1, 255, 256, 65534, 65535)),
            TensorDataType.UInt32 => ([2, 3], Le<uint>(0, 1, 65536, 2147483648, 4294967294, uint.MaxValue)),
            TensorDataType.UInt64 => ([2, 3], Le<ulong>(0, 1, uint.MaxValue, 9223372036854775808, ulong.MaxValue - 1, ulong.MaxValue)),
            TensorDataType.Int8 => ([2, 3], Le<sbyte>(sbyte.MinValue, -1, 0, 1, 100, sbyte.MaxValue)),
            TensorDataType.Int16 => ([2, 3], Le<short>(short.MinValue, -1, 0, 1, 1000, short.MaxValue)),
            TensorDataType.Int32 => ([2, 3], Le(int.MinValue, -1, 0, 1, 123456789, int.MaxValue)),
            TensorDataType.Int64 => ([2, 3], Le(long.MinValue, -1L, 0L, 1L, 1234567890123456789L, long.MaxValue)),
            TensorDataType.Fp16 => ([2, 2, 3], Le(
                (Half)0, -(Half)0, (Half)1, (Half)0.1, Half.MaxValue, Half.MinValue,
                Half.Epsilon, Half.NaN, Half.PositiveInfinity, Half.NegativeInfinity, (Half)(-2.5), (Half)65.5)),
            TensorDataType.Fp32 => ([2, 2, 3], Le(
                0f, -0f, 1f, 0.1f, float.MaxValue, float.MinValue,
                float.Epsilon, float.NaN, float.PositiveInfinity, float.NegativeInfinity, -1.17549435E-38f, 3.14159265f)),
            TensorDataType.Fp64 => ([2, 2, 3], Le(
                0d, -0d, 1d, 0.1d, double.MaxValue, double.MinValue,
                double.Epsilon, double.NaN, double.PositiveInfinity, double.NegativeInfinity, -2.2250738585072014E-308, Math.PI)),
            _ => ([3, 2], Strings("", "a", "h\u00e9llo \u2713", "quote\" back\\slash\n\ttab", "nul\0char", "\U0001F600 <script>")),
        };

        return new InferenceTensor { Name = name, DataType = dataType, Shape = shape, Data = data };
    }

    public static ReadOnlyMemory<byte> Utf8(string json) => Encoding.UTF8.GetBytes(json);

    /// <summary>A binary-extension body: the JSON header, then the binary parts, in one array.</summary>
    public static byte[] BinaryBody(string json, out int headerLength, params byte[][] parts)
    {
        var header = Encoding.UTF8.GetBytes(json);
        headerLength = header.Length;
        var body = new List<byte>(header);
        foreach (var part in parts)
        {
            body.AddRange(part);
        }

        return [.. body];
    }

    public static (ArrayBufferWriter<byte> Body, int? HeaderLength) Write(InferenceRequest request, bool binaryInputs)
    {
        var destination = new ArrayBufferWriter<byte>();
        var headerLength = InferenceCodec.WriteRequest(destination, request, binaryInputs);
        return (destination, headerLength);
    }

    public static (ArrayBufferWriter<byte> Body, int? HeaderLength) Write(InferenceResponse response, Func<string, bool>? binaryOutput)
    {
        var destination = new ArrayBufferWriter<byte>();
        var headerLength = InferenceCodec.WriteResponse(destination, response, binaryOutput);
        return (destination, headerLength);
    }

    /// <summary>Parses the JSON part of a written body with an independent parser.</summary>
    public static JsonDocument JsonPart(ArrayBufferWriter<byte> body, int? headerLength) =>
        JsonDocument.Parse(body.WrittenMemory[..(headerLength ?? body.WrittenCount)]);

    public static Dictionary<string, JsonElement> Parameters(string json)
    {
        using var document = JsonDocument.Parse(json);
        var result = new Dictionary<string, JsonElement>();
        foreach (var property in document.RootElement.EnumerateObject())
        {
            result[property.Name] = property.Value.Clone();
        }

        return result;
    }

    public static void AssertSameTensor(InferenceTensor expected, InferenceTensor actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.DataType, actual.DataType);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.Data.ToArray(), actual.Data.ToArray());
    }

    public static void AssertSameParameters(IReadOnlyDictionary<string, JsonElement>? expected, IReadOnlyDictionary<string, JsonElement>? actual)
    {
        if (expected is null || expected.Count == 0)
        {
            Assert.True(actual is null || actual.Count == 0, "expected no parameters");
            return;
        }

        Assert.NotNull(actual);
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (name, value) in expected)
        {
            Assert.True(actual.TryGetValue(name, out var other), $"parameter '{name}' is missing");
            Assert.True(JsonElement.DeepEquals(value, other), $"parameter '{name}': {value.GetRawText()} != {other.GetRawText()}");
        }
    }
}

/// <summary>An ArrayPool that knows which arrays are out, to prove the codec returns every one exactly once.</summary>
internal sealed class CountingArrayPool : ArrayPool<byte>
{
    private readonly ArrayPool<byte> _inner = Create();
    private readonly HashSet<byte[]> _outstanding = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _lock = new();

    public int Outstanding
    {
        get
        {
            lock (_lock)
            {
                return _outstanding.Count;
            }
        }
    }

    public int Rentals { get; private set; }

    public int LargestRequest { get; private set; }

    public bool Owns(byte[] array)
    {
        lock (_lock)
        {
            return _outstanding.Contains(array);
        }
    }

    public override byte[] Rent(int minimumLength)
    {
        var array = _inner.Rent(minimumLength);
        lock (_lock)
        {
            Rentals++;
            LargestRequest = Math.Max(LargestRequest, minimumLength);
            Assert.True(_outstanding.Add(array), "the inner pool handed out an array that is still rented");
        }

        return array;
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        lock (_lock)
        {
            Assert.True(_outstanding.Remove(array), "an array was returned twice, or was never rented from this pool");
        }

        _inner.Return(array, clearArray);
    }
}
