using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using MlPlatform.Dashboard.Resources;

namespace MlPlatform.Dashboard.Components.TryIt;

/// <summary>One label and its probability.</summary>
public sealed record ScoredLabel(string Label, double Score);

/// <summary>What the gateway answered to one predict request, good or bad.</summary>
public sealed record PredictOutcome(
    int StatusCode,
    string Status,
    TimeSpan Elapsed,
    string TraceId,
    string? RequestId,
    string? Model,
    IReadOnlyList<ScoredLabel> TopK,
    string? Error)
{
    public bool Succeeded => StatusCode is >= 200 and < 300 && Error is null;
}

/// <summary>
/// Calls the gateway from the server, as any client would: with the API key, and a traceparent
/// so the request's trace can be found. The browser never sees the key.
/// </summary>
public sealed class PredictClient(IHttpClientFactory clients, IResourceSource resources, DashboardOptions options)
{
    public const string ClientName = "MlPlatform.Dashboard.TryIt";

    /// <summary>The gateway's address: a running gateway replica's, else the first one's; null when there is none.</summary>
    public Uri? GatewayUrl
    {
        get
        {
            var gateways = resources.GetResources().Where(r => r.Service == "gateway" && r.Url is not null).ToList();
            return (gateways.FirstOrDefault(r => r.State == "running") ?? gateways.FirstOrDefault())?.Url ?? options.GatewayUrl;
        }
    }

    /// <summary>The models the inference service has, through the gateway's <c>/v2</c> route; empty when it cannot tell.</summary>
    public async Task<IReadOnlyList<string>> GetModelsAsync(CancellationToken cancellationToken)
    {
        if (GatewayUrl is not { } gateway)
        {
            return [];
        }

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, "v2/repository/index"));
            request.Headers.Add("apikey", options.GatewayApiKey);
            request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
            using var response = await Client().SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return [];
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
            return json.RootElement.ValueKind != JsonValueKind.Array
                ? []
                : json.RootElement.EnumerateArray()
                    .Select(entry => entry.TryGetProperty("name", out var name) ? name.GetString() : null)
                    .OfType<string>()
                    .Distinct(StringComparer.Ordinal)
                    .ToList();
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or TaskCanceledException)
        {
            return [];
        }
    }

    public async Task<PredictOutcome> PredictAsync(string model, byte[] image, string contentType, CancellationToken cancellationToken)
    {
        var traceparent = Traceparent.New();
        if (GatewayUrl is not { } gateway)
        {
            return new PredictOutcome(0, "No gateway", TimeSpan.Zero, traceparent.TraceId, null, model, [], "No gateway resource is running, so there is nowhere to send the image.");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, $"v1/models/{Uri.EscapeDataString(model)}:predict"));
        request.Headers.Add("apikey", options.GatewayApiKey);
        request.Headers.Add("traceparent", traceparent.Header);
        request.Content = new ByteArrayContent(image);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);

        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await Client().SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
            var requestId = response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.FirstOrDefault() : null;
            return response.IsSuccessStatusCode
                ? Read(body) switch
                {
                    (var topK, null) => new PredictOutcome((int)response.StatusCode, status, clock.Elapsed, traceparent.TraceId, requestId, model, topK, null),
                    (_, var error) => new PredictOutcome((int)response.StatusCode, status, clock.Elapsed, traceparent.TraceId, requestId, model, [], error),
                }
                : new PredictOutcome((int)response.StatusCode, status, clock.Elapsed, traceparent.TraceId, requestId, model, [], ErrorMessage(body));
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new PredictOutcome(0, "No answer", clock.Elapsed, traceparent.TraceId, null, model, [], $"The gateway at {gateway} did not answer: {exception.Message}");
        }
    }

    private HttpClient Client() => clients.CreateClient(ClientName);

    /// <summary>The first prediction's top-k, from <c>{"predictions":[{"label","score","top_k":[...]}]}</c>.</summary>
    private static (IReadOnlyList<ScoredLabel> TopK, string? Error) Read(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (!json.RootElement.TryGetProperty("predictions", out var predictions) || predictions.ValueKind != JsonValueKind.Array || predictions.GetArrayLength() == 0)
            {
                return ([], "The answer has no predictions.");
            }

            var first = predictions[0];
            if (first.TryGetProperty("top_k", out var topK) && topK.ValueKind == JsonValueKind.Array)
            {
                return (topK.EnumerateArray().Select(Scored).OfType<ScoredLabel>().ToList(), null);
            }

            return Scored(first) is { } single ? ([single], null) : ([], "The prediction has no label and score.");
        }
        catch (JsonException)
        {
            return ([], "The answer is not JSON.");
        }
    }

    private static ScoredLabel? Scored(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object
        && element.TryGetProperty("label", out var label)
        && element.TryGetProperty("score", out var score)
        && score.ValueKind == JsonValueKind.Number
            ? new ScoredLabel(label.ToString(), score.GetDouble())
            : null;

    /// <summary>The message of an error answer: problem details, the key-auth plugin's <c>message</c>, or the protocol's <c>error</c>.</summary>
    private static string ErrorMessage(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return "The gateway gave no details.";
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                var parts = new[] { "title", "detail", "message", "error" }
                    .Select(name => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null)
                    .Where(text => !string.IsNullOrWhiteSpace(text))
                    .ToList();
                if (parts.Count > 0)
                {
                    return string.Join(": ", parts);
                }
            }
        }
        catch (JsonException)
        {
        }

        return body.Length > 500 ? body[..500] + "…" : body;
    }
}
