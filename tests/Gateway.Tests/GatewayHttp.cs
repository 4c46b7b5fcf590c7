using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>Small helpers to talk to the gateway in tests.</summary>
internal static class GatewayHttp
{
    /// <summary>A request for <paramref name="path"/> exactly as written: no dot-segment removal, no unescaping.</summary>
    public static HttpRequestMessage Raw(HttpMethod method, Uri baseAddress, string path) =>
        new(method, new Uri(baseAddress.GetLeftPart(UriPartial.Authority) + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));

    public static HttpRequestMessage Predict(string model, HttpContent? content = null) =>
        new(HttpMethod.Post, $"/v1/models/{model}:predict") { Content = content ?? Png() };

    /// <summary>A body that claims to be a PNG; the stand-ins never decode it.</summary>
    public static ByteArrayContent Png(int length = 64)
    {
        var content = new ByteArrayContent(new byte[length]);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(",", values) : null;

    public static async Task<JsonElement> ReadProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>
    /// The sum of a metric's series whose labels contain <paramref name="labelFragment"/>, from the Prometheus text on the
    /// gateway's management port.
    /// </summary>
    public static async Task<double> ReadMetricAsync(ServiceProcess gateway, string name, string labelFragment)
    {
        var text = await gateway.ManagementClient.GetStringAsync("/metrics");
        var sum = 0.0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains(labelFragment, StringComparison.Ordinal))
            {
                sum += double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
