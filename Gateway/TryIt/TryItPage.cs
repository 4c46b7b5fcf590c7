using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MlPlatform.Contracts.Predictions;
using MlPlatform.Gateway.KeyAuth;

namespace MlPlatform.Gateway.TryIt;

/// <summary>
/// <c>GET /try</c>: a page to draw or upload a digit and see what the model makes of it, with a link to the
/// prediction's trace in the Aspire dashboard. Development only: it carries a development API key in plain
/// text. The page and its script and style are embedded in the gateway, so it works offline and needs no
/// static-file middleware that would serve them in every environment.
/// </summary>
/// <remarks>
/// These endpoints have no route group, so no traffic policy applies to them; the page's
/// predictions go to the public predict route and meet key-auth and rate limits like any client's.
/// </remarks>
public static class TryItPage
{
    public const string PagePath = "/try";
    public const string ScriptPath = PagePath + "/tryit.js";
    public const string StylePath = PagePath + "/tryit.css";

    // Only this origin: the page fetches nothing from anywhere else, and an injected script could not either.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Lazy<string> Template = new(() => ReadAsset("tryit.html"));
    private static readonly Lazy<byte[]> Script = new(() => System.Text.Encoding.UTF8.GetBytes(ReadAsset("tryit.js")));
    private static readonly Lazy<byte[]> Style = new(() => System.Text.Encoding.UTF8.GetBytes(ReadAsset("tryit.css")));

    /// <summary>The page's settings from <c>Gateway:TryIt</c>, checked on start.</summary>
    public static IHostApplicationBuilder AddTryItPage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TryItOptions>().BindConfiguration(TryItOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TryItOptions>, ValidateTryItOptions>();
        return builder;
    }

    /// <summary>Maps the page and its assets; call it in Development only.</summary>
    public static IEndpointRouteBuilder MapTryItPage(this IEndpointRouteBuilder app)
    {
        // Not part of the public API the OpenAPI document describes.
        var page = app.MapGroup(PagePath).ExcludeFromDescription();
        page.MapGet("", GetPage);
        page.MapGet("/tryit.js", (HttpResponse response) => Asset(response, Script.Value, "text/javascript; charset=utf-8"));
        page.MapGet("/tryit.css", (HttpResponse response) => Asset(response, Style.Value, "text/css; charset=utf-8"));
        return app;
    }

    internal static ContentHttpResult GetPage(HttpResponse response, IOptions<TryItOptions> options, IOptions<KeyAuthOptions> keyAuth)
    {
        var settings = options.Value;
        var encoder = HtmlEncoder.Default;
        var html = Template.Value
            .Replace("{{KeyName}}", encoder.Encode(keyAuth.Value.EffectiveKeyNames[0]), StringComparison.Ordinal)
            .Replace("{{ApiKey}}", encoder.Encode(settings.ApiKey), StringComparison.Ordinal)
            .Replace("{{DashboardUrl}}", encoder.Encode(settings.DashboardBase ?? ""), StringComparison.Ordinal)
            .Replace("{{FieldPredictions}}", PredictFields.Predictions, StringComparison.Ordinal)
            .Replace("{{FieldLabel}}", PredictFields.Label, StringComparison.Ordinal)
            .Replace("{{FieldScore}}", PredictFields.Score, StringComparison.Ordinal)
            .Replace("{{FieldTopK}}", PredictFields.TopK, StringComparison.Ordinal);

        // The page holds a key: never kept by a cache.
        response.Headers.CacheControl = "no-store";
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        return TypedResults.Content(html, "text/html; charset=utf-8");
    }

    private static FileContentHttpResult Asset(HttpResponse response, byte[] content, string contentType)
    {
        // Edited while the gateway runs in development: fetched again on every load.
        response.Headers.CacheControl = "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";
        return TypedResults.Bytes(content, contentType);
    }

    private static string ReadAsset(string name)
    {
        using var stream = typeof(TryItPage).Assembly.GetManifestResourceStream($"TryIt.{name}")
            ?? throw new InvalidOperationException($"The gateway was built without its embedded TryIt.{name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
