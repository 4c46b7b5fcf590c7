using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.Json;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>A preprocess response: the inference request body and its JSON header length.</summary>
internal sealed record Preprocessed(HttpStatusCode Status, string? ContentType, int? HeaderLength, byte[] Body)
{
    /// <summary>The request's one input and its values.</summary>
    public (InferenceTensor Tensor, float[] Values, InferenceRequest Request) ReadTensor()
    {
        Assert.Equal(HttpStatusCode.OK, Status);
        var request = InferenceCodec.ReadRequest(Body, HeaderLength);
        var tensor = Assert.Single(request.Inputs);
        return (tensor, MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray(), request);
    }
}

/// <summary>Speaks to the preprocessing service and forwards its output to inference, as the gateway does.</summary>
internal static class PreprocessHttp
{
    public static ByteArrayContent Content(byte[] body, string? contentType)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return content;
    }

    public static async Task<Preprocessed> PostAsync(HttpClient client, string model, byte[] body, string? contentType)
    {
        using var response = await client.PostAsync($"/v1/preprocess/{model}", Content(body, contentType));
        return new Preprocessed(
            response.StatusCode,
            response.Content.Headers.ContentType?.MediaType,
            HeaderLength(response),
            await response.Content.ReadAsByteArrayAsync());
    }

    public static Task<Preprocessed> PostJsonAsync(HttpClient client, string model, string json) =>
        PostAsync(client, model, System.Text.Encoding.UTF8.GetBytes(json), "application/json");

    /// <summary>Sends a preprocessed body unchanged to inference and returns the first output's values.</summary>
    public static async Task<(long[] Shape, float[] Values)> InferAsync(HttpClient inference, string model, Preprocessed preprocessed)
    {
        Assert.Equal(HttpStatusCode.OK, preprocessed.Status);
        var content = Content(preprocessed.Body, preprocessed.ContentType);
        content.Headers.Add(ProtocolParameters.HeaderContentLength, preprocessed.HeaderLength!.Value.ToString(CultureInfo.InvariantCulture));
        using var response = await inference.PostAsync($"/v2/models/{model}/infer", content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.IsSuccessStatusCode, $"inference answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(bytes)}");

        // binary_data_output in the preprocessed request asks for binary outputs.
        var headerLength = HeaderLength(response);
        Assert.NotNull(headerLength);
        using var result = InferenceCodec.ReadResponse(bytes, headerLength);
        var output = result.Outputs[0];
        return (output.Shape, MemoryMarshal.Cast<byte, float>(output.Data.Span).ToArray());
    }

    /// <summary>Checks an RFC 9457 answer: status, content type, a detail naming the problem, a trace id, no stack trace.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, int status, params string[] fragments)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement.Clone();
        Assert.Equal(status, root.GetProperty("status").GetInt32());
        var detail = root.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, detail, StringComparison.Ordinal);
        }

        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("traceId").GetString()));
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        return root;
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    private static int? HeaderLength(HttpResponseMessage response) =>
        response.Headers.TryGetValues(ProtocolParameters.HeaderContentLength, out var values)
            ? int.Parse(values.Single(), CultureInfo.InvariantCulture)
            : null;
}
