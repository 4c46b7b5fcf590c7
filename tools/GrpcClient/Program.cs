using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Grpc.Protos;

// A gRPC call to the Open Inference Protocol's service, through the gateway (http://localhost:8081) or to inference:
//   dotnet run --project tools/GrpcClient -- [--address URL] [--apikey KEY] live | metadata MODEL | infer MODEL REQUEST.json
var address = "http://localhost:8081";
string? apiKey = "dev-key-change-me";
var arguments = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--address" when i + 1 < args.Length:
            address = args[++i];
            break;
        case "--apikey" when i + 1 < args.Length:
            apiKey = args[++i] is { Length: > 0 } key ? key : null;
            break;
        default:
            arguments.Add(args[i]);
            break;
    }
}

using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = null });
var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
var metadata = new Metadata();
if (apiKey is not null)
{
    metadata.Add("apikey", apiKey);
}

try
{
    switch (arguments)
    {
        case ["live"]:
            Console.WriteLine(JsonFormatter.Default.Format(await client.ServerLiveAsync(new ServerLiveRequest(), metadata)));
            return 0;
        case ["metadata", var model]:
            Console.WriteLine(JsonFormatter.Default.Format(await client.ModelMetadataAsync(new ModelMetadataRequest { Name = model }, metadata)));
            return 0;
        case ["infer", var model, var file]:
            Console.WriteLine(Outputs(await client.ModelInferAsync(InferRequest(model, file), metadata)));
            return 0;
        default:
            Console.Error.WriteLine("usage: GrpcClient [--address http://localhost:8081] [--apikey KEY] live | metadata MODEL | infer MODEL REQUEST.json");
            return 2;
    }
}
catch (RpcException exception)
{
    Console.Error.WriteLine($"error: {exception.StatusCode}: {exception.Status.Detail}");
    return 1;
}

// The inputs of a V2 JSON request, all as raw contents (row-major, little-endian), as Triton's clients send them.
static ModelInferRequest InferRequest(string model, string file)
{
    using var json = InferenceCodec.ReadRequest(File.ReadAllBytes(file), null);
    var request = new ModelInferRequest { ModelName = model, Id = json.Id ?? "" };
    foreach (var input in json.Inputs)
    {
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = input.DataType.ProtocolName };
        tensor.Shape.Add(input.Shape);
        request.Inputs.Add(tensor);
        request.RawInputContents.Add(ByteString.CopyFrom(input.Data.Span));
    }

    return request;
}

// Each output with its values when they are FP32, else its size in bytes.
static string Outputs(ModelInferResponse response) => JsonSerializer.Serialize(new
{
    model_name = response.ModelName,
    model_version = response.ModelVersion,
    id = response.Id,
    outputs = response.Outputs.Select((output, index) => new
    {
        name = output.Name,
        datatype = output.Datatype,
        shape = output.Shape,
        data = output.Datatype == "FP32" ? MemoryMarshal.Cast<byte, float>(response.RawOutputContents[index].Span).ToArray() : null,
        bytes = response.RawOutputContents[index].Length,
    }),
});
