using System.Text;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using Xunit.Abstractions;
using static MlPlatform.Contracts.Tests.TestData;

namespace MlPlatform.Contracts.Tests;

/// <summary>
/// Mutated and truncated versions of valid bodies: whatever the bytes, a read either succeeds with
/// consistent tensors or throws <see cref="InferenceProtocolException"/>, and never leaks a buffer.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20_240_611;

    private static readonly byte[] Interesting = Encoding.ASCII.GetBytes("{}[]\":,-.0123456789eE+ tfnu\\")
        .Concat(new byte[] { 0x00, 0x7F, 0x80, 0xC3, 0xED, 0xFF })
        .ToArray();

    private static readonly string[] Tokens =
    [
        "99999999999999999999", "-1", "1e400", "-0", "1.5", "null", "true", "\"NaN\"", "[", "]", "{", "}", ",", "\"\\ud800\"",
        "\"binary_data_size\": 4", "\"data\": [1]", "\"shape\": [4294967296, 4294967296]", "\"datatype\": \"BYTES\"",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "\"name\": \"x\"",
    ];

    private readonly ITestOutputHelper _output = output;

    private sealed record Body(byte[] Bytes, int? HeaderLength);

    private static List<Body> RequestSeeds()
    {
        var tensors = new InferenceTensor[AllDataTypes.Length];
        for (var i = 0; i < tensors.Length; i++)
        {
            tensors[i] = Sample(AllDataTypes[i], $"in{i}");
        }

        var request = new InferenceRequest
        {
            Id = "fuzz",
            Parameters = Parameters("""{"binary_data_output": true, "nested": {"a": [1, 2]}}"""),
            Inputs = tensors,
            Outputs = [new RequestedOutput { Name = "out", Parameters = Parameters("""{"binary_data": false}""") }],
        };

        var seeds = new List<Body>();
        foreach (var binary in new[] { false, true })
        {
            var (body, headerLength) = Write(request, binary);
            seeds.Add(new Body(body.WrittenSpan.ToArray(), headerLength));
        }

        seeds.Add(new Body(Encoding.UTF8.GetBytes("""
            {"inputs": [
              {"data": [[1.5, -2], ["NaN", "Infinity"]], "name": "x", "datatype": "FP64", "shape": [2, 2]},
              {"name": "y", "shape": [2, 1], "datatype": "BYTES", "data": [["a\u00e9"], ["\ud83d\ude00"]], "parameters": {"p": 1}},
              {"name": "z", "shape": [3], "datatype": "BOOL", "data": [true, false, true]}
            ], "outputs": [{"name": "o"}]}
            """), null));

        var mixed = BinaryBody(
            """
            {"inputs": [{"name": "a", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 11}},
                        {"name": "b", "shape": [1], "datatype": "INT8", "data": [7]},
                        {"name": "c", "shape": [2], "datatype": "FP16", "parameters": {"binary_data_size": 4}}]}
            """,
            out var mixedHeader,
            Strings("abc", ""),
            Le((Half)1, (Half)(-1)));
        seeds.Add(new Body(mixed, mixedHeader));
        return seeds;
    }

    private static List<Body> ResponseSeeds()
    {
        var tensors = new InferenceTensor[AllDataTypes.Length];
        for (var i = 0; i < tensors.Length; i++)
        {
            tensors[i] = Sample(AllDataTypes[i], $"out{i}");
        }

        var response = new InferenceResponse { ModelName = "m", ModelVersion = "1", Id = "r", Outputs = tensors };
        var seeds = new List<Body>();
        foreach (var binary in new[] { false, true })
        {
            var (body, headerLength) = Write(response, binary ? name => name.EndsWith('1') || name.EndsWith('2') : null);
            seeds.Add(new Body(body.WrittenSpan.ToArray(), headerLength));
        }

        return seeds;
    }

    private static Body Mutate(Body seed, Random random)
    {
        var bytes = new List<byte>(seed.Bytes);
        var headerLength = seed.HeaderLength;
        var mutations = random.Next(1, 4);
        for (var m = 0; m < mutations; m++)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(9))
            {
                case 0:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 2 when bytes.Count > 0:
                    bytes[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 3:
                    bytes.Insert(at, Interesting[random.Next(Interesting.Length)]);
                    break;
                case 4:
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 16), bytes.Count - at));
                    break;
                case 5:
                    var start = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
                    var slice = bytes.GetRange(start, Math.Min(random.Next(1, 32), bytes.Count - start));
                    bytes.InsertRange(at, slice);
                    break;
                case 6:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Tokens[random.Next(Tokens.Length)]));
                    break;
                case 7:
                    headerLength = random.Next(4) switch
                    {
                        0 => null,
                        1 => random.Next(-2, bytes.Count + 3),
                        2 => headerLength is null ? bytes.Count : headerLength + random.Next(-3, 4),
                        _ => bytes.Count,
                    };
                    break;
                default:
                    // A digit swapped for another changes sizes, counts and dimensions.
                    var digit = bytes.FindIndex(at, b => b is >= (byte)'0' and <= (byte)'9');
                    if (digit >= 0)
                    {
                        bytes[digit] = (byte)('0' + random.Next(10));
                    }

                    break;
            }
        }

        return new Body([.. bytes], headerLength);
    }

    [Fact]
    public void ReadRequest_MutatedBodies_OnlyProtocolExceptions()
    {
        var random = new Random(Seed);
        var seeds = RequestSeeds();
        var pool = new CountingArrayPool();
        int accepted = 0, rejected = 0;
        for (var i = 0; i < 4000; i++)
        {
            var body = Mutate(seeds[i % seeds.Count], random);
            try
            {
                using var request = InferenceBodyReader.ReadRequest(body.Bytes, body.HeaderLength, pool);
                foreach (var tensor in request.Inputs)
                {
                    AssertConsistent(tensor);
                }

                accepted++;
            }
            catch (InferenceProtocolException)
            {
                rejected++;
            }
            catch (Exception exception)
            {
                Assert.Fail($"case {i}, header {body.HeaderLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, body {Convert.ToBase64String(body.Bytes)}: {exception}");
            }

            Assert.True(pool.Outstanding == 0, $"case {i} left {pool.Outstanding} pooled arrays out");
        }

        _output.WriteLine($"{accepted} accepted, {rejected} rejected");

        // Both outcomes must occur, or the mutations are not exercising the parser.
        Assert.InRange(rejected, 1000, 4000);
        Assert.InRange(accepted, 50, 4000);
    }

    [Fact]
    public void ReadResponse_MutatedBodies_OnlyProtocolExceptions()
    {
        var random = new Random(Seed + 1);
        var seeds = ResponseSeeds();
        var pool = new CountingArrayPool();
        var rejected = 0;
        for (var i = 0; i < 1500; i++)
        {
            var body = Mutate(seeds[i % seeds.Count], random);
            try
            {
                using var response = InferenceBodyReader.ReadResponse(body.Bytes, body.HeaderLength, pool);
                foreach (var tensor in response.Outputs)
                {
                    AssertConsistent(tensor);
                }
            }
            catch (InferenceProtocolException)
            {
                rejected++;
            }
            catch (Exception exception)
            {
                Assert.Fail($"case {i}, header {body.HeaderLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, body {Convert.ToBase64String(body.Bytes)}: {exception}");
            }

            Assert.Equal(0, pool.Outstanding);
        }

        Assert.InRange(rejected, 300, 1500);
    }

    [Fact]
    public void ReadRequest_EveryTruncation_ThrowsProtocolException()
    {
        foreach (var seed in RequestSeeds())
        {
            var end = seed.HeaderLength ?? seed.Bytes.Length;
            for (var length = 0; length < seed.Bytes.Length; length++)
            {
                var cut = seed.Bytes.AsMemory(0, length);

                // Cuts that leave the whole JSON part can only fail on the binary part.
                var header = seed.HeaderLength is { } h ? Math.Min(h, Math.Max(length, 1)) : (int?)null;
                Assert.Throws<InferenceProtocolException>(() => InferenceCodec.ReadRequest(cut, header));
                if (length < end)
                {
                    Assert.Throws<InferenceProtocolException>(() => InferenceCodec.ReadRequest(cut, null));
                }
            }
        }
    }

    [Fact]
    public void ReadRequest_RandomBytes_OnlyProtocolExceptions()
    {
        var random = new Random(Seed + 2);
        for (var i = 0; i < 1000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            int? header = random.Next(3) == 0 ? null : random.Next(-1, bytes.Length + 2);

            Assert.Throws<InferenceProtocolException>(() => InferenceCodec.ReadRequest(bytes, header));
        }
    }

    /// <summary>What every accepted tensor must satisfy, whatever body it came from.</summary>
    private static void AssertConsistent(InferenceTensor tensor)
    {
        Assert.True(TensorShape.TryGetElementCount(tensor.Shape, out var count));
        Assert.True(count >= 0);
        if (tensor.DataType == TensorDataType.Bytes)
        {
            Assert.True(BytesLayout.TryCount(tensor.Data.Span, out var elements, out _));
            Assert.Equal(count, elements);
        }
        else
        {
            Assert.Equal(count * tensor.DataType.ElementSize, tensor.Data.Length);
        }
    }
}
