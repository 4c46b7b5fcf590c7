using Microsoft.AspNetCore.WebUtilities;
using MlPlatform.Gateway.Declarative;
using MlPlatform.Gateway.KeyAuth;

namespace MlPlatform.Gateway.Kong;

/// <summary>
/// One key-auth plugin instance (kong/plugins/key-auth/handler.lua): the key under its key names, in headers, the query
/// and, with key_in_body, a form body; the consumer whose credential it is, or the anonymous consumer; the key hidden
/// from the service with hide_credentials.
/// </summary>
internal sealed class KongKeyAuth
{
    private KongKeyAuth(KeyAuthConfig config, KeyAuthenticator<KongCredential> authenticator, ConsumerEntity? anonymous)
    {
        Config = config;
        Authenticator = authenticator;
        Anonymous = anonymous;
        Challenge = $"Key realm=\"{config.Realm ?? "mlplatform"}\"";
    }

    public KeyAuthConfig Config { get; }

    public KeyAuthenticator<KongCredential> Authenticator { get; }

    /// <summary>The consumer a request without a valid key goes on as (Kong's <c>anonymous</c>); null refuses it.</summary>
    public ConsumerEntity? Anonymous { get; }

    /// <summary>The <c>WWW-Authenticate</c> of a 401.</summary>
    public string Challenge { get; }

    /// <summary>The runner, or null with a problem when <c>anonymous</c> names no consumer of the file.</summary>
    public static KongKeyAuth? Create(
        KeyAuthConfig config,
        IReadOnlyDictionary<KeyDigest, KongCredential> credentials,
        IReadOnlyDictionary<string, ConsumerEntity> consumers,
        string pluginPath,
        List<ConfigProblem> problems)
    {
        ConsumerEntity? anonymous = null;
        if (config.Anonymous is { } name && !consumers.TryGetValue(name, out anonymous))
        {
            problems.Add(new ConfigProblem($"{pluginPath}.config.anonymous", $"no consumer '{name}' in 'consumers' (give its username or id)"));
            return null;
        }

        return new KongKeyAuth(config, new KeyAuthenticator<KongCredential>(config.KeyNames, config.KeyInHeader, config.KeyInQuery, credentials), anonymous);
    }

    /// <summary>The request's credential, looking in a form body too when key_in_body is on and no other place had a key.</summary>
    public async ValueTask<(KongCredential? Credential, KeyAuthFailure Failure, string? BodyKeyName)> AuthenticateAsync(HttpRequest request)
    {
        var (credential, failure) = Authenticator.Authenticate(request);
        if (failure != KeyAuthFailure.Missing || !Config.KeyInBody || !IsUrlEncodedForm(request))
        {
            return (credential, failure, null);
        }

        // Buffered and rewound: the service still receives the body the key was read from.
        request.EnableBuffering();
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (InvalidDataException)
        {
            // A body that is no form (a key or value past the form reader's limits) holds no key, as in Kong.
            request.Body.Position = 0;
            return (null, KeyAuthFailure.Missing, null);
        }

        request.Body.Position = 0;
        foreach (var name in Config.KeyNames)
        {
            if (form.TryGetValue(name, out var values) && values.Count == 1 && values[0] is { Length: > 0 } key)
            {
                return Authenticator.TryFind(key, out var found) ? (found, KeyAuthFailure.None, name) : (null, KeyAuthFailure.Invalid, name);
            }

            if (values.Count > 1)
            {
                return (null, KeyAuthFailure.Conflicting, name);
            }
        }

        return (null, KeyAuthFailure.Missing, null);
    }

    /// <summary>Kong's hide_credentials: the key leaves headers, query and, when it came in one, the form body.</summary>
    public async ValueTask HideAsync(HttpRequest request, string? bodyKeyName)
    {
        Authenticator.HideCredentials(request);
        if (bodyKeyName is null)
        {
            return;
        }

        var form = await request.ReadFormAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        var kept = new Dictionary<string, Microsoft.Extensions.Primitives.StringValues>(StringComparer.Ordinal);
        foreach (var (name, values) in form)
        {
            if (!string.Equals(name, bodyKeyName, StringComparison.Ordinal))
            {
                kept[name] = values;
            }
        }

        var body = System.Text.Encoding.UTF8.GetBytes(QueryHelpers.AddQueryString("", kept).TrimStart('?'));
        request.Body = new MemoryStream(body, writable: false);
        request.ContentLength = body.Length;
        // The form was read from the old body; a later reader must read the new one.
        request.HttpContext.Features.Set<Microsoft.AspNetCore.Http.Features.IFormFeature>(null);
    }

    private static bool IsUrlEncodedForm(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
}
