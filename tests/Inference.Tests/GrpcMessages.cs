using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Grpc.Protos;

namespace MlPlatform.Inference.Tests;

/// <summary>Builds gRPC messages from the protocol types the REST tests use, so both protocols get the same tensors.</summary>
internal static class GrpcMessages
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(bytes => bytes, bytes => bytes);

    /// <summary>ModelInfer with the message's bytes as they are, parsed or not.</summary>
    public static Method<byte[], byte[]> RawModelInfer { get; } = new(MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer", Bytes, Bytes);

    /// <summary>The request with every input as raw contents, or as typed contents when <paramref name="typed"/>.</summary>
    public static ModelInferRequest Request(string model, InferenceRequest request, bool typed)
    {
        var message = new ModelInferRequest { ModelName = model, Id = request.Id ?? "" };
        foreach (var input in request.Inputs)
        {
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = input.DataType.ProtocolName };
            tensor.Shape.Add(input.Shape);
            if (typed)
            {
                tensor.Contents = Typed(input.DataType, input.Data.Span);
            }
            else
            {
                message.RawInputContents.Add(ByteString.CopyFrom(input.Data.Span));
            }

            message.Inputs.Add(tensor);
        }

        return message;
    }

    public static ModelInferRequest.Types.InferInputTensor Input(string name, string datatype, params long[] shape)
    {
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype };
        tensor.Shape.Add(shape);
        return tensor;
    }

    /// <summary>The raw layout's values in the typed field the datatype takes.</summary>
    public static InferTensorContents Typed(TensorDataType dataType, ReadOnlySpan<byte> data)
    {
        var contents = new InferTensorContents();
        switch (dataType)
        {
            case TensorDataType.Bool:
                contents.BoolContents.Add(Values<byte>(data).Select(b => b != 0));
                break;
            case TensorDataType.Int8:
                contents.IntContents.Add(Values<sbyte>(data).Select(v => (int)v));
                break;
            case TensorDataType.Int16:
                contents.IntContents.Add(Values<short>(data).Select(v => (int)v));
                break;
            case TensorDataType.Int32:
                contents.IntContents.Add(Values<int>(data));
                break;
            case TensorDataType.Int64:
                contents.Int64Contents.Add(Values<long>(data));
                break;
            case TensorDataType.UInt8:
                contents.UintContents.Add(Values<byte>(data).Select(v => (uint)v));
                break;
            case TensorDataType.UInt16:
                contents.UintContents.Add(Values<ushort>(data).Select(v => (uint)v));
                break;
            case TensorDataType.UInt32:
                contents.UintContents.Add(Values<uint>(data));
                break;
            case TensorDataType.UInt64:
                contents.Uint64Contents.Add(Values<ulong>(data));
                break;
            case TensorDataType.Fp32:
                contents.Fp32Contents.Add(Values<float>(data));
                break;
            case TensorDataType.Fp64:
                contents.Fp64Contents.Add(Values<double>(data));
                break;
            case TensorDataType.Bytes:
                for (var offset = 0; offset < data.Length;)
                {
                    var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
                    contents.BytesContents.Add(ByteString.CopyFrom(data.Slice(offset + 4, length)));
                    offset += 4 + length;
                }

                break;
            default:
                throw new ArgumentException($"{dataType} has no typed contents", nameof(dataType));
        }

        return contents;
    }

    /// <summary>The raw layout's elements, little-endian as the machines the tests run on.</summary>
    private static T[] Values<T>(ReadOnlySpan<byte> data)
        where T : unmanaged => MemoryMarshal.Cast<byte, T>(data).ToArray();

    /// <summary>BYTES elements in the raw layout: each a 4-byte little-endian length, then its bytes.</summary>
    public static byte[] Strings(params string[] values)
    {
        var stream = new MemoryStream();
        Span<byte> prefix = stackalloc byte[4];
        foreach (var value in values)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)bytes.Length);
            stream.Write(prefix);
            stream.Write(bytes);
        }

        return stream.ToArray();
    }

    /// <summary>Asks REST for every output as binary, so its bytes can be compared with gRPC's raw contents.</summary>
    public static IReadOnlyDictionary<string, JsonElement> BinaryOutput { get; } =
        new Dictionary<string, JsonElement> { [ProtocolParameters.BinaryDataOutput] = JsonDocument.Parse("true").RootElement.Clone() };

    /// <summary>Asserts that gRPC answered exactly what REST did: names, datatypes, shapes and every byte.</summary>
    public static void AssertSameOutputs(InferenceResponse rest, ModelInferResponse grpc)
    {
        Assert.Equal(rest.Outputs.Count, grpc.Outputs.Count);
        Assert.Equal(grpc.Outputs.Count, grpc.RawOutputContents.Count);
        for (var i = 0; i < rest.Outputs.Count; i++)
        {
            var expected = rest.Outputs[i];
            var actual = grpc.Outputs[i];
            Assert.Equal(expected.Name, actual.Name);
            Assert.Equal(expected.DataType.ProtocolName, actual.Datatype);
            Assert.Equal(expected.Shape, actual.Shape.ToArray());
            Assert.True(
                expected.Data.Span.SequenceEqual(grpc.RawOutputContents[i].Span),
                $"output '{expected.Name}': REST sent {Convert.ToHexString(expected.Data.Span)}, gRPC {Convert.ToHexString(grpc.RawOutputContents[i].Span)}");
        }
    }
}
