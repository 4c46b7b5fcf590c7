using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Postprocessing.Tests;

/// <summary>An inference response as the gateway forwards it: the body and the headers that say how to read it.</summary>
internal sealed record ForwardedResponse(byte[] Body, string? ContentType, string? HeaderLength);

/// <summary>One prediction of a postprocess answer.</summary>
internal sealed record Prediction(string Label, double Score, (string Label, double Score)[] TopK);

/// <summary>Helpers that speak to both services over HTTP.</summary>
internal static class PostprocessHttp
{
    /// <summary>Runs a model on the inference service and keeps its response exactly as it came.</summary>
    public static async Task<ForwardedResponse> InferAsync(HttpClient inference, string model, object request)
    {
        using var content = new StringContent(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json");
        using var response = await inference.PostAsync($"/v2/models/{model}/infer", content);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.IsSuccessStatusCode, $"inference answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");

        var headerLength = response.Headers.TryGetValues(ProtocolParameters.HeaderContentLength, out var values)
            || response.Content.Headers.TryGetValues(ProtocolParameters.HeaderContentLength, out values)
            ? values.Single()
            : null;
        return new ForwardedResponse(body, response.Content.Headers.ContentType?.ToString(), headerLength);
    }

    /// <summary>An inference request for one FP32 input, with outputs in binary or JSON.</summary>
    public static object Request(string input, long[] shape, float[] data, bool binaryOutput, string? id = null) => new
    {
        id,
        parameters = new { binary_data_output = binaryOutput },
        inputs = new[] { new { name = input, shape, datatype = "FP32", data } },
    };

    /// <summary>Posts a forwarded response to the postprocessing service, with its headers, as the gateway does.</summary>
    public static Task<HttpResponseMessage> PostprocessAsync(HttpClient postprocessing, string model, ForwardedResponse forwarded)
    {
        var content = new ByteArrayContent(forwarded.Body);
        if (forwarded.ContentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(forwarded.ContentType);
        }

        if (forwarded.HeaderLength is not null)
        {
            content.Headers.Add(ProtocolParameters.HeaderContentLength, forwarded.HeaderLength);
        }

        return postprocessing.PostAsync($"/v1/postprocess/{model}", content);
    }

    public static Task<HttpResponseMessage> PostprocessJsonAsync(HttpClient postprocessing, string model, string json) =>
        PostprocessAsync(postprocessing, model, new ForwardedResponse(Encoding.UTF8.GetBytes(json), "application/json", null));

    /// <summary>A binary-extension body: the JSON header, then the raw tensor bytes.</summary>
    public static ForwardedResponse Binary(string jsonHeader, byte[] tensorBytes)
    {
        var header = Encoding.UTF8.GetBytes(jsonHeader);
        return new ForwardedResponse([.. header, .. tensorBytes], "application/octet-stream", header.Length.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Reads a 200 answer, failing with the body when it is not one.</summary>
    public static async Task<JsonElement> ReadPredictionsAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"postprocessing answered {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement;
    }

    public static Prediction[] Predictions(JsonElement root) =>
        root.GetProperty("predictions").EnumerateArray().Select(prediction => new Prediction(
            prediction.GetProperty("label").GetString()!,
            prediction.GetProperty("score").GetDouble(),
            prediction.GetProperty("top_k").EnumerateArray()
                .Select(entry => (entry.GetProperty("label").GetString()!, entry.GetProperty("score").GetDouble()))
                .ToArray())).ToArray();

    /// <summary>The FP32 values of one output of an inference response, JSON or binary.</summary>
    public static float[] OutputFloats(ForwardedResponse forwarded, string output)
    {
        using var response = InferenceCodec.ReadResponse(forwarded.Body, forwarded.HeaderLength is null ? null : int.Parse(forwarded.HeaderLength, CultureInfo.InvariantCulture));
        var tensor = response.Outputs.Single(o => o.Name == output);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();
    }

    /// <summary>The classes a reference ranking puts first: highest score, then lowest index.</summary>
    public static int[] Rank(IReadOnlyList<double> scores, int k) =>
        Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(k).ToArray();

    /// <summary>Softmax as a textbook writes it, in double precision.</summary>
    public static double[] Softmax(IReadOnlyList<double> logits)
    {
        var max = logits.Max();
        var exps = logits.Select(l => Math.Exp(l - max)).ToArray();
        var sum = exps.Sum();
        return exps.Select(e => e / sum).ToArray();
    }

    public static void AssertClose(double expected, double actual, double relative)
    {
        var tolerance = Math.Max(Math.Abs(expected) * relative, 1e-300);
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected:R}, got {actual:R} (relative tolerance {relative})");
    }
}
