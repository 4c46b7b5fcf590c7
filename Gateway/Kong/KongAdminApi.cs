using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Kong;

/// <summary>
/// Kong's DB-less admin API, its one write: <c>POST /config</c> replaces the declarative configuration served, from a
/// YAML or JSON body (or a form's <c>config</c> field, as decK and Kong's own examples send it). The configuration
/// lives in memory, as in Kong: the file is not rewritten, and a later change to the file replaces it again.
/// </summary>
public static class KongAdminApi
{
    public const string TokenHeader = "Kong-Admin-Token";

    /// <summary>The largest configuration accepted, far above 1,000 consumers' worth.</summary>
    public const long MaxConfigBytes = 16L * 1024 * 1024;

    /// <summary>Maps <c>POST /config</c> into <paramref name="managementEndpoints"/> when a declarative file and an admin token are both set.</summary>
    public static IEndpointRouteBuilder MapKongAdminApi(this IEndpointRouteBuilder managementEndpoints)
    {
        var options = managementEndpoints.ServiceProvider.GetRequiredService<IOptions<DeclarativeConfigOptions>>().Value;
        if (options.IsEnabled && !string.IsNullOrEmpty(options.AdminToken))
        {
            managementEndpoints.MapPost("/config", PostConfigAsync).ExcludeFromDescription();
        }

        return managementEndpoints;
    }

    private static async Task<Results<Created<ConfigApplied>, JsonHttpResult<ConfigRefused>, JsonHttpResult<AdminMessage>>> PostConfigAsync(
        HttpContext context, IOptions<DeclarativeConfigOptions> options)
    {
        if (!TokenMatches(context.Request.Headers[TokenHeader].ToString(), options.Value.AdminToken!))
        {
            return TypedResults.Json(new AdminMessage("Invalid credentials. Token or User credentials required"), statusCode: StatusCodes.Status401Unauthorized);
        }

        if (context.Request.ContentLength > MaxConfigBytes)
        {
            return TooLarge();
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = MaxConfigBytes;
        }

        string text;
        try
        {
            text = await ReadConfigAsync(context.Request).ConfigureAwait(false);
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge();
        }
        catch (Exception exception) when (exception is BadHttpRequestException or InvalidDataException or DecoderFallbackException)
        {
            return Refused([$"the body could not be read: {exception.Message}"], StatusCodes.Status400BadRequest);
        }

        var store = context.RequestServices.GetRequiredService<KongConfigStore>();
        var result = await store.ApplyAsync(text, "POST /config", context.RequestAborted).ConfigureAwait(false);
        if (!result.Applied)
        {
            return Refused([.. result.Problems.Select(problem => problem.ToString())], StatusCodes.Status400BadRequest);
        }

        var source = store.Current.Source;
        return TypedResults.Created("/config", new ConfigApplied(result.Revision!.Value, source.Services.Count, source.Routes.Count, source.Consumers.Count, source.Plugins.Count));
    }

    private static async Task<string> ReadConfigAsync(HttpRequest request)
    {
        var aborted = request.HttpContext.RequestAborted;
        if (request.HasFormContentType)
        {
            // curl -d sends a file as a form body unless told otherwise: without a config field, the body is the file.
            request.EnableBuffering();
            var form = await request.ReadFormAsync(aborted).ConfigureAwait(false);
            if (form.Files.GetFile("config") is { } file)
            {
                return await ReadTextAsync(file.OpenReadStream(), aborted).ConfigureAwait(false);
            }

            if (form.TryGetValue("config", out var value))
            {
                return value.ToString();
            }

            request.Body.Position = 0;
        }

        return await ReadTextAsync(request.Body, aborted).ConfigureAwait(false);
    }

    private static async Task<string> ReadTextAsync(Stream stream, CancellationToken cancellationToken)
    {
        // Strict UTF-8: a body that is not text is refused, not read with replacement characters.
        using var reader = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    // Compared as digests, in fixed time: neither the token's length nor its bytes show in how fast a guess fails.
    private static bool TokenMatches(string given, string expected) =>
        given.Length > 0 && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    private static JsonHttpResult<ConfigRefused> TooLarge() =>
        Refused([$"the configuration is larger than {MaxConfigBytes} bytes"], StatusCodes.Status413PayloadTooLarge);

    private static JsonHttpResult<ConfigRefused> Refused(string[] problems, int status) =>
        TypedResults.Json(new ConfigRefused(14, "invalid declarative configuration", $"declarative config is invalid: {problems.Length} problem(s); the configuration served is unchanged", problems), statusCode: status);

    /// <summary>What <c>POST /config</c> applied: the revision now served and what it holds.</summary>
    public sealed record ConfigApplied(
        [property: JsonPropertyName("revision")] long Revision,
        [property: JsonPropertyName("services")] int Services,
        [property: JsonPropertyName("routes")] int Routes,
        [property: JsonPropertyName("consumers")] int Consumers,
        [property: JsonPropertyName("plugins")] int Plugins);

    /// <summary>Kong's answer to an invalid configuration (code 14), with every problem and its path.</summary>
    public sealed record ConfigRefused(
        [property: JsonPropertyName("code")] int Code,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("message")] string Message,
        [property: JsonPropertyName("problems")] string[] Problems);

    public sealed record AdminMessage([property: JsonPropertyName("message")] string Message);
}
