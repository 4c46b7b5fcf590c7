using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace MlPlatform.Contracts.Protocol;

/// <summary>
/// Reads a model's config from the inference service (<c>GET /v2/models/{name}/versions/{v}/config</c>)
/// for the pre- and postprocessing services, which hold no model files.
/// </summary>
/// <remarks>
/// Configs are cached, keyed by version and by the entity tag the inference service gives each config. Which
/// version is served, and under which config, can change while it runs (a new version loaded, a config reloaded),
/// so that is asked again once the last answer is older than <see cref="VersionRefreshInterval"/>.
/// </remarks>
public sealed class ModelConfigClient(HttpClient httpClient, TimeProvider timeProvider)
{
    public static readonly TimeSpan VersionRefreshInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (string Version, string? Tag, long FetchedAt)> _servedVersions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Model, string Version, string? Tag), ModelConfig> _configs = new();

    /// <summary>The config of the version the inference service serves now.</summary>
    /// <exception cref="ModelConfigException">The model is unknown, or the inference service could not answer.</exception>
    public async ValueTask<ModelConfig> GetAsync(string model, CancellationToken cancellationToken)
    {
        var (version, tag) = await GetServedVersionAsync(model, cancellationToken).ConfigureAwait(false);
        if (_configs.TryGetValue((model, version, tag), out var cached))
        {
            return cached;
        }

        var (config, _) = await ReadAsync(
            $"/v2/models/{Uri.EscapeDataString(model)}/versions/{Uri.EscapeDataString(version)}/config",
            model,
            ProtocolJsonContext.Default.ModelConfig,
            cancellationToken).ConfigureAwait(false);
        _configs[(model, version, tag)] = config;
        return config;
    }

    private async ValueTask<(string Version, string? Tag)> GetServedVersionAsync(string model, CancellationToken cancellationToken)
    {
        if (_servedVersions.TryGetValue(model, out var known) && timeProvider.GetElapsedTime(known.FetchedAt) < VersionRefreshInterval)
        {
            return (known.Version, known.Tag);
        }

        var (metadata, tag) = await ReadAsync(
            $"/v2/models/{Uri.EscapeDataString(model)}", model, ProtocolJsonContext.Default.ModelMetadataResponse, cancellationToken).ConfigureAwait(false);
        if (metadata.Versions is not { Count: > 0 })
        {
            throw new ModelConfigException(HttpStatusCode.BadGateway, $"the inference service lists no version of model '{model}'");
        }

        _servedVersions[model] = (metadata.Versions[0], tag, timeProvider.GetTimestamp());
        return (metadata.Versions[0], tag);
    }

    /// <returns>The answer, and its entity tag when it has one.</returns>
    private async Task<(T Value, string? Tag)> ReadAsync<T>(string path, string model, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await httpClient.GetAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException exception)
        {
            throw new ModelConfigException(HttpStatusCode.BadGateway, $"the inference service could not be reached for the config of model '{model}': {exception.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ModelConfigException(HttpStatusCode.GatewayTimeout, $"the inference service did not answer in time for the config of model '{model}'");
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new ModelConfigException(HttpStatusCode.NotFound, $"unknown model '{model}'");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new ModelConfigException(HttpStatusCode.BadGateway, $"the inference service answered {(int)response.StatusCode} for the config of model '{model}'");
            }

            try
            {
                var value = await response.Content.ReadFromJsonAsync(typeInfo, cancellationToken).ConfigureAwait(false)
                    ?? throw new ModelConfigException(HttpStatusCode.BadGateway, $"the inference service sent an empty config for model '{model}'");
                return (value, response.Headers.ETag?.Tag);
            }
            catch (JsonException exception)
            {
                throw new ModelConfigException(HttpStatusCode.BadGateway, $"the inference service sent a config for model '{model}' that is not valid JSON: {exception.Message}");
            }
        }
    }
}

/// <summary>A model's config could not be had; <see cref="StatusCode"/> is what to tell the client.</summary>
public sealed class ModelConfigException(HttpStatusCode statusCode, string message) : Exception(message)
{
    public HttpStatusCode StatusCode { get; } = statusCode;
}
