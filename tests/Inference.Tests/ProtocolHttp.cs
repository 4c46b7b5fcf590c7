using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Inference.Tests;

/// <summary>Small helpers to speak the protocol over HTTP in tests.</summary>
internal static class ProtocolHttp
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<(HttpResponseMessage Response, JsonDocument Body)> PostJsonAsync(HttpClient client, string path, string json)
    {
        var response = await client.PostAsync(path, Json(json));
        var body = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return (response, body);
    }

    /// <summary>Sends a request with our codec, binary or JSON, and reads the response with it.</summary>
    public static async Task<InferenceResponse> InferAsync(HttpClient client, string path, InferenceRequest request, bool binary)
    {
        using var writer = new PooledBufferWriter();
        var headerLength = InferenceCodec.WriteRequest(writer, request, binary);
        var content = new ByteArrayContent(writer.WrittenSpan.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue(headerLength is null ? "application/json" : "application/octet-stream");
        if (headerLength is { } length)
        {
            content.Headers.Add(ProtocolParameters.HeaderContentLength, length.ToString(CultureInfo.InvariantCulture));
        }

        using var response = await client.PostAsync(path, content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{(int)response.StatusCode}: {Encoding.UTF8.GetString(bytes)}", null, response.StatusCode);
        }

        int? responseHeaderLength = response.Headers.TryGetValues(ProtocolParameters.HeaderContentLength, out var values)
            || response.Content.Headers.TryGetValues(ProtocolParameters.HeaderContentLength, out values)
            ? int.Parse(values.First(), CultureInfo.InvariantCulture)
            : null;
        return InferenceCodec.ReadResponse(bytes, responseHeaderLength);
    }

    public static InferenceTensor Tensor<T>(string name, TensorDataType dataType, long[] shape, params T[] values) where T : unmanaged =>
        new() { Name = name, DataType = dataType, Shape = shape, Data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray() };

    public static float[] Floats(InferenceTensor tensor) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    public static InferenceTensor Output(InferenceResponse response, string name) =>
        response.Outputs.Single(output => output.Name == name);
}
